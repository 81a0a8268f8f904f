package quota

import "bytes"

// The functions here find values in a JSON body without decoding it: bodies
// arrive truncated (a bounded peek), so a decoder would fail on exactly the
// large bodies that still say what we need, and a scan allocates nothing.

// jsonValue returns the raw value of the first `"key": value` pair in b: a
// string's contents without quotes (escapes kept), or a number, true, false
// or null as written. Objects and arrays are not returned.
func jsonValue(b []byte, key string) ([]byte, bool) {
	for i := 0; i < len(b); {
		j := bytes.Index(b[i:], []byte(key))
		if j < 0 {
			return nil, false
		}
		start, end := i+j, i+j+len(key)
		i = end
		if start == 0 || b[start-1] != '"' || end >= len(b) || b[end] != '"' {
			continue
		}
		if v, ok := valueAfterColon(b[end+1:]); ok {
			return v, true
		}
	}
	return nil, false
}

// valueAfterColon reads `: value` at the start of b.
func valueAfterColon(b []byte) ([]byte, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return nil, false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) == 0 {
		return nil, false
	}
	if b[0] == '"' {
		return stringContents(b[1:])
	}
	end := bytes.IndexAny(b, ",}] \t\r\n")
	if end < 0 {
		end = len(b)
	}
	if end == 0 || b[0] == '{' || b[0] == '[' {
		return nil, false
	}
	return b[:end], true
}

// stringContents returns the bytes of a JSON string up to its closing quote.
func stringContents(b []byte) ([]byte, bool) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[:i], true
		}
	}
	return nil, false
}

// jsonHas reports whether some `"key": "value"` pair in b has that value.
func jsonHas(b []byte, key, value string) bool {
	for i := 0; i < len(b); {
		j := bytes.Index(b[i:], []byte(value))
		if j < 0 {
			return false
		}
		at := i + j
		i = at + len(value)
		if at > 0 && b[at-1] == '"' && i < len(b) && b[i] == '"' && keyBefore(b[:at-1], key) {
			return true
		}
	}
	return false
}

// keyBefore reports whether b ends with `"key"` and a colon, white space
// allowed around the colon.
func keyBefore(b []byte, key string) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) == 0 || b[len(b)-1] != ':' {
		return false
	}
	b = bytes.TrimRight(b[:len(b)-1], " \t\r\n")
	n := len(key) + 2
	return len(b) >= n && b[len(b)-n] == '"' && b[len(b)-1] == '"' && string(b[len(b)-n+1:len(b)-1]) == key
}

// jsonNumber returns the first number value of key in b.
func jsonNumber(b []byte, key string) (float64, bool) {
	v, ok := jsonValue(b, key)
	if !ok {
		return 0, false
	}
	return parseNumber(string(v))
}
