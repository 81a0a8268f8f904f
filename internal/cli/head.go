package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"

	"github.com/heedhq/heed/quota"
)

// errEmptyInput reports input with nothing but blank lines.
var errEmptyInput = errors.New("input is empty")

// headError says which line of the input is not part of a response head.
type headError struct {
	// line is the line's number in the input, from 1.
	line int
	// text is the line, shortened to maxQuotedLine bytes.
	text string
	// problem says what is wrong with it.
	problem string
}

// maxQuotedLine is how much of a bad line a headError quotes.
const maxQuotedLine = 40

// Error returns "line N: problem: "text"".
func (e *headError) Error() string {
	return fmt.Sprintf("line %d: %s: %q", e.line, e.problem, e.text)
}

// readHead parses an HTTP response head as curl -sI or curl -si prints it.
//
// The status line ("HTTP/1.1 429 Too Many Requests", "HTTP/2 429") is
// optional; lines may end in CRLF or LF; a header line starting with a space
// or tab continues the previous one (obsolete folding). When several heads
// follow each other (curl's 100 Continue, a proxy's Connection established,
// redirects with -L), the last one is returned. What follows the last head's
// blank line is the body, of which at most quota.MaxBody bytes are kept.
// Body aliases data. Leading blank lines are skipped; input with nothing
// else is errEmptyInput, and a line that is neither a status line nor a
// header is a *headError.
func readHead(data []byte) (quota.Response, error) {
	r := &headReader{data: data}
	r.skipBlankLines()
	if r.done() {
		return quota.Response{}, errEmptyInput
	}
	resp, err := r.head()
	for err == nil && r.atStatusLine() {
		resp, err = r.head()
	}
	if err != nil {
		return quota.Response{}, err
	}
	resp.Body = r.body()
	return resp, nil
}

// headReader reads a response head line by line.
type headReader struct {
	data []byte
	// pos is the offset of the next unread byte.
	pos int
	// line is the number of the line last read, from 1.
	line int
}

// done reports whether all of the input has been read.
func (r *headReader) done() bool { return r.pos >= len(r.data) }

// next returns the next line without its line ending; ok is false at the
// end of the input.
func (r *headReader) next() (line []byte, ok bool) {
	if r.done() {
		return nil, false
	}
	rest := r.data[r.pos:]
	end := bytes.IndexByte(rest, '\n')
	if end < 0 {
		end = len(rest)
	}
	r.pos += min(end+1, len(rest))
	r.line++
	return bytes.TrimSuffix(rest[:end], []byte("\r")), true
}

// skipBlankLines moves past blank lines.
func (r *headReader) skipBlankLines() {
	for !r.done() {
		pos, line := r.pos, r.line
		if l, _ := r.next(); !isBlank(l) {
			r.pos, r.line = pos, line
			return
		}
	}
}

// atStatusLine reports whether the next line starts with "HTTP/".
func (r *headReader) atStatusLine() bool {
	rest := r.data[r.pos:]
	return len(rest) >= 5 && bytes.EqualFold(rest[:5], []byte("HTTP/"))
}

// head reads one head: an optional status line, then header lines up to a
// blank line or the end of the input.
func (r *headReader) head() (quota.Response, error) {
	resp := quota.Response{Header: http.Header{}}
	if r.atStatusLine() {
		line, _ := r.next()
		status, problem := parseStatusLine(line)
		if problem != "" {
			return quota.Response{}, r.errorAt(line, problem)
		}
		resp.Status = status
	}
	return resp, r.headerLines(resp.Header)
}

// headerLines adds header lines to h up to a blank line or the end of the
// input.
func (r *headReader) headerLines(h http.Header) error {
	last := ""
	for {
		line, ok := r.next()
		if !ok || isBlank(line) {
			return nil
		}
		key, problem := addHeaderLine(h, last, line)
		if problem != "" {
			return r.errorAt(line, problem)
		}
		last = key
	}
}

// errorAt returns a *headError for the line just read.
func (r *headReader) errorAt(line []byte, problem string) error {
	text := line[:min(len(line), maxQuotedLine)]
	return &headError{line: r.line, text: string(text), problem: problem}
}

// body returns the rest of the input, at most quota.MaxBody bytes of it, or
// nil when there is none.
func (r *headReader) body() []byte {
	rest := r.data[r.pos:]
	if len(rest) == 0 {
		return nil
	}
	return rest[:min(len(rest), quota.MaxBody)]
}

// parseStatusLine returns the status code of a status line such as
// "HTTP/1.1 429 Too Many Requests", or a problem.
func parseStatusLine(line []byte) (status int, problem string) {
	fields := bytes.Fields(line)
	if len(fields) < 2 {
		return 0, "status line has no status code"
	}
	code := fields[1]
	if len(code) != 3 || !isDigits(code) || code[0] == '0' {
		return 0, "status code is not three digits from 100 to 999"
	}
	return int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'), ""
}

// addHeaderLine adds one header line to h and returns the header's key; a
// line starting with a space or tab continues the header last, whose key it
// returns. It returns a problem for a line that is not a header.
func addHeaderLine(h http.Header, last string, line []byte) (key, problem string) {
	if line[0] == ' ' || line[0] == '\t' {
		return last, continueHeader(h, last, line)
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	name = bytes.TrimRight(name, " \t")
	if !ok || !isToken(name) {
		return "", "neither a status line nor a header"
	}
	key = textproto.CanonicalMIMEHeaderKey(string(name))
	h[key] = append(h[key], string(trimSpace(value)))
	return key, ""
}

// continueHeader appends a folded line to the last value of h[key].
func continueHeader(h http.Header, key string, line []byte) (problem string) {
	values := h[key]
	if len(values) == 0 {
		return "continuation line without a header before it"
	}
	values[len(values)-1] += " " + string(trimSpace(line))
	return ""
}

// isBlank reports whether line holds nothing but spaces and tabs.
func isBlank(line []byte) bool { return len(trimSpace(line)) == 0 }

// trimSpace removes spaces and tabs at both ends of b.
func trimSpace(b []byte) []byte { return bytes.Trim(b, " \t") }

// isDigits reports whether b holds only ASCII digits.
func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isToken reports whether b is a non-empty RFC 9110 token, as a header name
// must be.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}
