package heedgrpc_test

import (
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/heedgrpc"
)

// BenchmarkUnary is one unary call to a real grpc-go server on loopback:
// without an interceptor, through heed's with an upstream that governs it
// (memory store; with no limit, and with a limit that never binds), and
// through heed's for a call no upstream covers. The differences are the
// interceptor's cost per call.
func BenchmarkUnary(b *testing.B) {
	_, addr := newServer(b)
	unmatched, err := heedgrpc.New(heed.Config{Upstreams: []heed.Upstream{{Name: "other", BaseURL: "grpc://elsewhere.example.com/"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = unmatched.Close() })
	for _, bb := range []struct {
		name string
		ic   *heedgrpc.Interceptor
	}{
		{"Direct", nil},
		{"Heed", newInterceptor(b, addr, heed.Upstream{}, "")},
		{"HeedLimit", newInterceptor(b, addr, heed.Upstream{Limits: []heed.Limit{{Requests: 1 << 40, Per: time.Second}}}, "")},
		{"HeedUnmatched", unmatched},
	} {
		b.Run(bb.name, func(b *testing.B) {
			c := dial(b, addr, bb.ic)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if err := check(ctx, c, "Bearer benchmark"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
