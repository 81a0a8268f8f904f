package llm

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a small pull reader of JSON over a byte slice: it walks
// objects and arrays, returns strings without copying when they hold no
// escapes, and skips whatever it is not asked about. It never allocates
// except to unescape a string into its reusable buffer, and it never panics
// on any input: the first syntax error, or the end of the input, stops it
// (err is set, eof tells which) and every later call returns false.
type scanner struct {
	b   []byte
	i   int
	err bool // stopped: a syntax error or the end of the input
	eof bool // stopped at the end of the input (a cut body), not a syntax error

	unesc []byte // scratch for unescaped strings; reused
	depth int    // nesting, bounded by maxDepth
}

// maxDepth bounds nesting so that a hostile body cannot grow the stack.
const maxDepth = 512

func (s *scanner) fail() bool {
	if s.i >= len(s.b) {
		s.eof = true
	}
	s.err = true
	return false
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (s *scanner) peek() byte {
	if s.err {
		return 0
	}
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) enter(open byte) bool {
	if s.peek() != open {
		return s.fail()
	}
	if s.depth++; s.depth > maxDepth {
		return s.fail()
	}
	s.i++
	return true
}

// object consumes '{'; false (and stopped) when the next value is not one.
func (s *scanner) object() bool { return s.enter('{') }

// openObject consumes the '{' of an object and reports true, or skips
// whatever other value comes and reports false. Past maxDepth it reports
// true with the scanner stopped, as object does, so that the caller's key
// loop ends at once.
func (s *scanner) openObject() bool {
	if s.peek() != '{' {
		s.skip()
		return false
	}
	s.object()
	return true
}

// array consumes '['.
func (s *scanner) array() bool { return s.enter('[') }

// key returns the next key of the object being read and consumes its ':'.
// It returns false at the closing '}' (consumed) or when stopped.
func (s *scanner) key() ([]byte, bool) {
	switch s.peek() {
	case '}':
		s.i++
		s.depth--
		return nil, false
	case ',':
		s.i++
	}
	if s.peek() != '"' {
		return nil, s.fail()
	}
	k, _, ok := s.rawString()
	if !ok || s.peek() != ':' {
		return nil, s.fail()
	}
	s.i++
	return k, true
}

// elem reports whether the array being read has another element (and
// consumes the ',' before it); false at the closing ']' (consumed) or when
// stopped.
func (s *scanner) elem() bool {
	switch s.peek() {
	case ']':
		s.i++
		s.depth--
		return false
	case ',':
		s.i++
	case 0:
		return s.fail()
	}
	return !s.err
}

// rawString reads a string and returns its bytes between the quotes, still
// escaped, and whether it holds escapes.
func (s *scanner) rawString() (raw []byte, escaped, ok bool) {
	if s.peek() != '"' {
		return nil, false, s.fail()
	}
	start := s.i + 1
	for j := start; j < len(s.b); {
		q := bytes.IndexByte(s.b[j:], '"')
		if q < 0 {
			break
		}
		q += j
		k := j // the backslashes before the quote, each escaping the byte after it
		for {
			bs := bytes.IndexByte(s.b[k:q], '\\')
			if bs < 0 {
				s.i = q + 1
				return s.b[start:q], escaped, true
			}
			escaped = true
			if k += bs + 2; k > q {
				break // the quote itself was escaped: look for the next one
			}
		}
		j = k
	}
	s.i = len(s.b)
	return s.b[start:], escaped, s.fail()
}

// str reads a string value and returns it unescaped. The result aliases
// the body or the scanner's scratch buffer: it is valid until the next call
// and must not be retained. A string cut by the end of the input returns
// what was read, with ok false.
func (s *scanner) str() (string, bool) {
	raw, escaped, ok := s.rawString()
	if escaped {
		raw = s.unescape(raw)
	}
	if len(raw) == 0 {
		return "", ok
	}
	return unsafe.String(&raw[0], len(raw)), ok
}

// isString reports whether the next value is a string.
func (s *scanner) isString() bool { return s.peek() == '"' }

func (s *scanner) unescape(raw []byte) []byte {
	out := s.unesc[:0]
	for i := 0; i < len(raw); i++ {
		bs := bytes.IndexByte(raw[i:], '\\')
		if bs < 0 || i+bs+1 >= len(raw) {
			out = append(out, raw[i:]...)
			break
		}
		out = append(out, raw[i:i+bs]...)
		i += bs + 1
		switch raw[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r, n := hex4(raw[i+1:])
			i += n
			if utf16.IsSurrogate(r) && i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				r2, n2 := hex4(raw[i+3:])
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r, i = d, i+2+n2
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/' and anything else: the byte itself
			out = append(out, raw[i])
		}
	}
	s.unesc = out
	return out
}

// hex4 reads up to four hex digits; it returns the rune and how many digits
// it read (a short or bad escape yields U+FFFD).
func hex4(b []byte) (rune, int) {
	var r rune
	for n := 0; n < 4; n++ {
		if n >= len(b) {
			return utf8.RuneError, n
		}
		c := b[n]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return utf8.RuneError, n
		}
	}
	return r, 4
}

// int reads a number and returns its integer part, clamped to [0, 1<<40]
// (no count heed prices is larger); a non-number is skipped and yields
// false.
func (s *scanner) int() (int64, bool) {
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		s.skip()
		return 0, false
	}
	neg := s.b[s.i] == '-'
	if neg {
		s.i++
	}
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if n < 1<<40 {
			n = n*10 + int64(s.b[s.i]-'0')
		}
		s.i++
	}
	s.skipNumberTail()
	if neg {
		return 0, true
	}
	return min(n, 1<<40), true
}

func (s *scanner) skipNumberTail() {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
			s.i++
		default:
			return
		}
	}
}

// bool reads true or false; anything else is skipped and yields false.
func (s *scanner) bool() bool {
	if s.peek() == 't' && s.literal("true") {
		return true
	}
	s.skip()
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) {
		s.i = len(s.b)
		return s.fail()
	}
	if string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail()
	}
	s.i += len(lit)
	return true
}

// skip skips one value of any kind and returns its raw bytes.
func (s *scanner) skip() []byte {
	start := s.i
	switch s.peek() {
	case '"':
		s.rawString()
	case '{':
		if s.object() {
			for _, ok := s.key(); ok; _, ok = s.key() {
				s.skip()
			}
		}
	case '[':
		if s.array() {
			for s.elem() {
				s.skip()
			}
		}
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		s.i++
		s.skipNumberTail()
	default:
		s.fail()
	}
	if start > len(s.b) {
		return nil
	}
	end := min(s.i, len(s.b))
	for start < end && isSpace(s.b[start]) {
		start++
	}
	return s.b[start:end]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// bytesString views b as a string without copying; b must not change while
// the string is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
