// Package httptoken checks RFC 9110 tokens, the syntax of HTTP methods and
// header field names, for every package of heed that takes one from a
// config or a client.
package httptoken

// Valid reports whether s is an RFC 9110 token: one or more of the letters,
// digits and !#$%&'*+-.^_`|~ (a method, or a header field name).
func Valid(s string) bool {
	for i := range len(s) {
		if !tchar(s[i]) {
			return false
		}
	}
	return s != ""
}

// tchar reports whether c may appear in a token.
func tchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
