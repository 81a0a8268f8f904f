package serve

import (
	"fmt"
	"net/http"
)

// MaxHeaderBytes bounds a request's line and header fields, counted as
// sent: for each field its name, value, ": " and CRLF. Over it heed serve
// answers 431 (414 when the request target alone is over it). The
// http.Server that serves heed serve should take more (internal/cli gives
// it four times as much), so that heed serve answers with its JSON error;
// beyond the http.Server's bound net/http answers 431 itself, which
// WrapListener turns into the same JSON error.
const MaxHeaderBytes = 64 << 10

// MaxHeaderFields bounds a request's header fields, each value of a
// repeated field counted; over it heed serve answers 431.
const MaxHeaderFields = 256

// headerBounds refuses a request over MaxHeaderBytes or MaxHeaderFields.
func headerBounds(r *http.Request) *refusal {
	if len(r.RequestURI) > MaxHeaderBytes {
		return &refusal{status: http.StatusRequestURITooLong, err: apiError{Error: CodeURITooLong,
			Message: fmt.Sprintf("the request target is over %d bytes", MaxHeaderBytes)}}
	}
	size := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: \r\n") + len(r.Host)
	fields := 1 // Host
	for name, values := range r.Header {
		fields += len(values)
		for _, v := range values {
			size += len(name) + len(v) + 4
		}
	}
	if size <= MaxHeaderBytes && fields <= MaxHeaderFields {
		return nil
	}
	return &refusal{status: http.StatusRequestHeaderFieldsTooLarge, err: headersTooLarge}
}

// headersTooLarge is the error of a request over heed serve's bounds,
// whoever finds it: headerBounds, or net/http before any handler runs.
var headersTooLarge = apiError{Error: CodeHeadersTooLarge,
	Message: fmt.Sprintf("the request's line and header fields are over heed serve's bound: at most %d bytes and %d fields", MaxHeaderBytes, MaxHeaderFields)}
