package heedgrpc

import (
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestEndpointHost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ canonical, want string }{
		{"dns:///translate.googleapis.com:443", "translate.googleapis.com:443"},
		{"dns://8.8.8.8/example.com:42", "example.com:42"},
		{"passthrough:///127.0.0.1:50051", "127.0.0.1:50051"},
		{"dns:///[::1]:50051", "[::1]:50051"},
		{"dns:///example.com", "example.com"},
		{"unix:///var/run/api.sock", "localhost"},
		{"unix-abstract:///name", "localhost"},
		{"%zz", "localhost"},
		{"dns:///", "localhost"},
	} {
		if got := endpointHost(tt.canonical); got != tt.want {
			t.Errorf("endpointHost(%q): got %q, want %q", tt.canonical, got, tt.want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for code, want := range map[codes.Code]int{
		codes.OK: 200, codes.Canceled: 499, codes.Unknown: 500, codes.InvalidArgument: 400, codes.DeadlineExceeded: 504,
		codes.NotFound: 404, codes.AlreadyExists: 409, codes.PermissionDenied: 403, codes.ResourceExhausted: 429,
		codes.FailedPrecondition: 400, codes.Aborted: 409, codes.OutOfRange: 400, codes.Unimplemented: 501,
		codes.Internal: 500, codes.Unavailable: 503, codes.DataLoss: 500, codes.Unauthenticated: 401, codes.Code(99): 500,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%v): got %d (%s), want %d", code, got, http.StatusText(got), want)
		}
	}
}
