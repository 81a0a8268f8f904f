package httpcache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Entry is one stored response, or, when [Entry.IsIndex], the index a
// primary key holds for a response with Vary.
type Entry struct {
	// Status is the response's status code; 0 marks an index entry.
	Status int

	// Header is the response header as stored: hop-by-hop fields and those
	// named in Connection removed, Set-Cookie never stored, the fields
	// named by a qualified no-cache="X" or private="X" removed, and a Date
	// added when the response had none.
	Header http.Header

	Body []byte

	// RequestTime and ResponseTime are RFC 9111's request_time and
	// response_time of the response stored or last validated.
	RequestTime, ResponseTime time.Time

	// Vary lists the canonical names of the request fields the response
	// varies on, sorted.
	Vary []string

	// facts are worked out once by the Cache that made or read the entry.
	facts facts
}

// facts are what an entry's header says that every lookup needs, worked
// out once (see Cache.prepare) so that a hit parses no date or directive.
// They are not encoded: an entry read from bytes works them out again.
type facts struct {
	ready      bool
	cc         Directives
	lifetime   time.Duration
	initialAge time.Duration // RFC 9111 4.2.3's corrected_initial_age
	validator  bool
}

// IsIndex reports whether e is the index of a primary key: it names the
// fields (e.Vary) whose request values select the variant entry, and holds
// no response.
func (e *Entry) IsIndex() bool { return e.Status == 0 }

// Limits of an encoded entry, enforced by MarshalBinary and UnmarshalBinary.
const (
	maxHeaderLines = 256      // field lines (values) in a header
	maxHeaderBytes = 64 << 10 // bytes of field names and values
)

// entryMagic starts every encoded entry: a format name and version.
const entryMagic = "hce1"

// Errors of UnmarshalBinary; each wraps ErrCorrupt.
var (
	// ErrCorrupt is what UnmarshalBinary's errors wrap: the bytes are not
	// an entry this version wrote.
	ErrCorrupt = errors.New("httpcache: corrupt entry")
	// ErrTooLarge: an entry's header is beyond the limits of the encoding
	// (256 field lines, 64 KiB).
	ErrTooLarge = errors.New("httpcache: entry header too large")
)

// Size is the approximate number of bytes e holds, for an LRU's budget.
func (e *Entry) Size() int64 {
	n := int64(160 + len(e.Body)) // the struct, times, slice headers
	for name, values := range e.Header {
		n += int64(len(name)) + 48
		for _, v := range values {
			n += int64(len(v)) + 16
		}
	}
	for _, v := range e.Vary {
		n += int64(len(v)) + 16
	}
	return n
}

// MarshalBinary encodes e: header fields sorted by name, so that equal
// entries encode equally. It fails with ErrTooLarge when the header is
// beyond what UnmarshalBinary accepts.
func (e *Entry) MarshalBinary() ([]byte, error) {
	if err := e.checkLimits(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64+len(e.Body)+int(e.Size()))
	b = append(b, entryMagic...)
	b = binary.AppendUvarint(b, uint64(e.Status))
	b = appendTime(b, e.RequestTime)
	b = appendTime(b, e.ResponseTime)
	b = appendStrings(b, e.Vary)
	names := make([]string, 0, len(e.Header))
	for name := range e.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendString(b, name)
		b = appendStrings(b, e.Header[name])
	}
	b = binary.AppendUvarint(b, uint64(len(e.Body)))
	return append(b, e.Body...), nil
}

// checkLimits reports ErrTooLarge when e's header or Vary is beyond the
// encoding's limits.
func (e *Entry) checkLimits() error {
	lines, bytes := len(e.Vary), 0
	for name, values := range e.Header {
		lines += max(len(values), 1)
		bytes += len(name)
		for _, v := range values {
			bytes += len(v)
		}
	}
	for _, v := range e.Vary {
		bytes += len(v)
	}
	if lines > maxHeaderLines || bytes > maxHeaderBytes || e.Status < 0 || e.Status > 999 {
		return ErrTooLarge
	}
	return nil
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// UnmarshalBinary decodes what MarshalBinary wrote. It is a parser of
// untrusted bytes: at most 256 field lines and 64 KiB of header, every
// length checked against the bytes left before anything is allocated, and
// errors (wrapping ErrCorrupt) instead of panics. e is changed only on
// success.
func (e *Entry) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if len(b) < len(entryMagic) || string(b[:len(entryMagic)]) != entryMagic {
		return fmt.Errorf("%w: not an encoded entry", ErrCorrupt)
	}
	d.b = b[len(entryMagic):]
	var out Entry
	status := d.uvarint("status")
	if d.err == nil && status > 999 {
		d.fail("status %d out of range", status)
	}
	out.Status = int(status)
	out.RequestTime = d.time("request time")
	out.ResponseTime = d.time("response time")
	out.Vary = d.strings("vary")
	out.Header = d.header()
	body := d.bytes("body")
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the body", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	if body != nil {
		out.Body = slices.Clone(body)
	}
	*e = out
	return nil
}

// decoder reads an encoded entry; after the first error every read returns
// zero values and err keeps that error.
type decoder struct {
	b              []byte
	err            error
	nLines, nBytes int // header lines and bytes read so far
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items, each taking at least one byte.
func (d *decoder) count(what string) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("%s count %d beyond the %d bytes left", what, n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *decoder) time(what string) time.Time {
	if d.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad %s", what)
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := d.uvarint(what)
	if d.err == nil && nsec >= 1e9 {
		d.fail("bad %s nanoseconds", what)
	}
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("%s length %d beyond the %d bytes left", what, n, len(d.b))
	}
	if d.err != nil {
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// headerString reads a header name, value or Vary name, counting it against
// the header limits.
func (d *decoder) headerString(what string) string {
	v := d.bytes(what)
	d.nLines++
	d.nBytes += len(v)
	if d.err == nil && d.nBytes > maxHeaderBytes {
		d.fail("header beyond %d bytes", maxHeaderBytes)
	}
	return string(v)
}

func (d *decoder) strings(what string) []string {
	n := d.count(what)
	if n == 0 {
		return nil
	}
	if d.nLines+n > maxHeaderLines {
		d.fail("more than %d header lines", maxHeaderLines)
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.headerString(what))
		if d.err != nil {
			return nil
		}
	}
	return out
}

func (d *decoder) header() http.Header {
	n := d.count("header")
	if n == 0 || d.err != nil {
		return nil
	}
	if d.nLines+n > maxHeaderLines {
		d.fail("more than %d header lines", maxHeaderLines)
		return nil
	}
	h := make(http.Header, n)
	prev := ""
	for i := range n {
		name := d.headerString("field name")
		d.nLines-- // a name's lines are its values, or one without values
		values := d.strings("field values")
		if len(values) == 0 {
			d.nLines++
		}
		if d.err == nil && d.nLines > maxHeaderLines {
			d.fail("more than %d header lines", maxHeaderLines)
		}
		if d.err != nil {
			return nil
		}
		if i > 0 && name <= prev {
			d.fail("field names not sorted and unique")
			return nil
		}
		h[name], prev = values, name
	}
	return h
}
