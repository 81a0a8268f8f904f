package llm

import (
	"io"
	"strings"
)

// Meter follows a response body as it passes to the caller and finds its
// usage. Write never fails (it reports len(p), nil) and never panics,
// whatever the bytes; memory is bounded (MaxUsageJSON, MaxEventBytes)
// whatever the body. A Meter is not safe for concurrent use: Write and
// Usage must not run at the same time.
type Meter interface {
	io.Writer
	// Usage returns the usage found so far: for a stream, the latest
	// cumulative one (each field the largest reported, so it never goes
	// down); false when none was found.
	Usage() (Usage, bool)
}

// Bounds of a Meter's memory.
const (
	// MaxUsageJSON bounds the "usage" value a JSON meter keeps to parse;
	// a larger one is skipped (real ones are under 1 KiB).
	MaxUsageJSON = 16 << 10
	// MaxEventBytes bounds one SSE line and one event's data; a longer one
	// is skipped (usage events are under 2 KiB; Anthropic's message_start
	// carries the message with empty content).
	MaxEventBytes = 64 << 10
)

// Meter returns a meter for a response of contentType: an SSE stream
// ("text/event-stream") or a JSON body (anything else). For None it still
// reads OpenAI- and Anthropic-shaped usage, which share field names.
func (v Vendor) Meter(contentType string) Meter {
	if isEventStream(contentType) {
		return &sseMeter{}
	}
	return &jsonMeter{}
}

func isEventStream(ct string) bool {
	ct = strings.TrimSpace(ct)
	const es = "text/event-stream"
	return len(ct) >= len(es) && strings.EqualFold(ct[:len(es)], es) &&
		(len(ct) == len(es) || ct[len(es)] == ';' || ct[len(es)] == ' ')
}

// jsonMeter finds the top-level "usage" of a JSON body with a byte-wise
// state machine: it keeps nothing but the current top-level key (up to 16
// bytes) and the usage value (up to MaxUsageJSON).
type jsonMeter struct {
	depth     int
	inStr     bool
	esc       bool
	expectKey bool // at depth 1, the next string is a key
	inKey     bool
	key       [16]byte
	keyLen    int  // -1: longer than key
	colon     bool // the key's ':' has been seen
	capturing bool
	capture   []byte
	overflow  bool

	usage Usage
	found bool
}

func (m *jsonMeter) Write(p []byte) (int, error) {
	for _, c := range p {
		m.byte(c)
	}
	return len(p), nil
}

func (m *jsonMeter) byte(c byte) {
	if m.capturing {
		if !m.inStr && m.depth == 1 && (c == ',' || c == '}') {
			m.endCapture()
		} else {
			m.keep(c)
		}
	}
	if m.inStr {
		switch {
		case m.esc:
			m.esc = false
		case c == '\\':
			m.esc = true
		case c == '"':
			m.inStr = false
			if m.inKey {
				m.inKey, m.expectKey = false, false
			}
		case m.inKey:
			if m.keyLen >= 0 && m.keyLen < len(m.key) {
				m.key[m.keyLen] = c
				m.keyLen++
			} else {
				m.keyLen = -1
			}
		}
		return
	}
	switch c {
	case '"':
		m.inStr = true
		if m.depth == 1 && m.expectKey {
			m.inKey, m.keyLen, m.colon = true, 0, false
		}
	case '{', '[':
		m.depth++
		if m.depth == 1 {
			m.expectKey = c == '{'
		}
	case '}', ']':
		m.depth = max(m.depth-1, 0)
	case ',':
		if m.depth == 1 {
			m.expectKey = true
		}
	case ':':
		if m.depth == 1 && !m.colon {
			m.colon = true
			if m.keyLen == len("usage") && string(m.key[:5]) == "usage" {
				m.capturing, m.capture, m.overflow = true, m.capture[:0], false
			}
		}
	}
}

func (m *jsonMeter) keep(c byte) {
	if m.overflow {
		return
	}
	if len(m.capture) >= MaxUsageJSON {
		m.overflow, m.capture = true, nil
		return
	}
	m.capture = append(m.capture, c)
}

func (m *jsonMeter) endCapture() {
	m.capturing = false
	if m.overflow {
		return
	}
	s := scanner{b: m.capture}
	if u, ok := readUsage(&s); ok {
		m.usage, m.found = u, true
	}
}

func (m *jsonMeter) Usage() (Usage, bool) { return m.usage, m.found }

// sseMeter reads an SSE stream's events and the usage in their data:
// OpenAI's chunks (the include_usage chunk's "usage"), the Responses API's
// events ("response.usage"), Anthropic's message_start ("message.usage")
// and message_delta ("usage"). Fields are merged by maximum, as Anthropic's
// are cumulative.
type sseMeter struct {
	line     []byte // the current line, up to MaxEventBytes
	skipLine bool   // the current line was too long
	data     []byte // the current event's data, up to MaxEventBytes
	badEvent bool   // the current event lost a line
	cr       bool   // the last byte was '\r'

	usage Usage
	found bool
}

func (m *sseMeter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if m.cr && p[0] == '\n' { // the '\n' of a "\r\n"
			p = p[1:]
			m.cr = false
			continue
		}
		m.cr = false
		i := indexLineEnd(p)
		if i < 0 {
			m.add(p)
			break
		}
		m.add(p[:i])
		m.cr = p[i] == '\r'
		m.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func indexLineEnd(p []byte) int {
	for i, c := range p {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

func (m *sseMeter) add(b []byte) {
	if m.skipLine {
		return
	}
	if len(m.line)+len(b) > MaxEventBytes {
		m.skipLine, m.line = true, m.line[:0]
		return
	}
	m.line = append(m.line, b...)
}

func (m *sseMeter) endLine() {
	line, skipped := m.line, m.skipLine
	m.line, m.skipLine = m.line[:0], false
	switch {
	case skipped:
		m.badEvent = true
	case len(line) == 0:
		m.dispatch()
	case hasPrefix(line, "data:"):
		v := line[len("data:"):]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if len(m.data) > 0 {
			m.data = append(m.data, '\n')
		}
		if len(m.data)+len(v) > MaxEventBytes {
			m.badEvent = true
			return
		}
		m.data = append(m.data, v...)
	}
}

func (m *sseMeter) dispatch() {
	data, bad := m.data, m.badEvent
	m.data, m.badEvent = m.data[:0], false
	if bad || len(data) == 0 || data[0] != '{' {
		return
	}
	s := scanner{b: data}
	if u, ok := eventUsage(&s); ok {
		m.merge(u)
	}
}

func (m *sseMeter) merge(u Usage) {
	m.usage.Input = max(m.usage.Input, u.Input)
	m.usage.Output = max(m.usage.Output, u.Output)
	m.usage.CacheRead = max(m.usage.CacheRead, u.CacheRead)
	m.usage.CacheWrite = max(m.usage.CacheWrite, u.CacheWrite)
	m.found = true
}

func (m *sseMeter) Usage() (Usage, bool) { return m.usage, m.found }

// eventUsage finds the usage in one event's JSON: top-level "usage", or
// "usage" inside "message" (Anthropic's message_start) or "response" (the
// Responses API's events).
func eventUsage(s *scanner) (Usage, bool) {
	var u Usage
	found := false
	if !s.object() {
		return u, false
	}
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch string(k) {
		case "usage":
			if v, ok := readUsage(s); ok {
				u, found = mergeMax(u, v), true
			}
		case "message", "response":
			if !s.openObject() {
				continue
			}
			for k2, ok2 := s.key(); ok2; k2, ok2 = s.key() {
				if string(k2) != "usage" {
					s.skip()
					continue
				}
				if v, ok := readUsage(s); ok {
					u, found = mergeMax(u, v), true
				}
			}
		default:
			s.skip()
		}
	}
	return u, found && !s.err
}

func mergeMax(a, b Usage) Usage {
	return Usage{max(a.Input, b.Input), max(a.Output, b.Output), max(a.CacheRead, b.CacheRead), max(a.CacheWrite, b.CacheWrite)}
}

// readUsage reads a usage object of either vendor; ok is false when it is
// not an object or names no count.
func readUsage(s *scanner) (u Usage, ok bool) {
	if !s.openObject() {
		return u, false
	}
	for k, more := s.key(); more; k, more = s.key() {
		var dst *int64
		switch string(k) {
		case "prompt_tokens", "input_tokens":
			dst = &u.Input
		case "completion_tokens", "output_tokens":
			dst = &u.Output
		case "cache_read_input_tokens":
			dst = &u.CacheRead
		case "cache_creation_input_tokens":
			dst = &u.CacheWrite
		case "prompt_tokens_details", "input_tokens_details":
			if n, found := cachedTokens(s); found {
				u.CacheRead, ok = n, true
			}
			continue
		default:
			s.skip()
			continue
		}
		if n, isNum := s.int(); isNum {
			*dst, ok = n, true
		}
	}
	return u, ok && !s.err
}

func cachedTokens(s *scanner) (int64, bool) {
	if s.peek() != '{' {
		s.skip()
		return 0, false
	}
	var n int64
	found := false
	s.object()
	for k, more := s.key(); more; k, more = s.key() {
		if string(k) == "cached_tokens" {
			n, found = s.int()
		} else {
			s.skip()
		}
	}
	return n, found
}
