package httpcache

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func BenchmarkLookupHit(b *testing.B) {
	f := newFixture(Options{})
	req := request("GET", target, header("Accept", "application/json", "Authorization", "Bearer k"))
	resp := header("Cache-Control", "max-age=3600", "Content-Type", "application/json", "Etag", `"v1"`, "Date", httpDate(t0))
	if !f.c.storeForBench(req, resp, make([]byte, 2048)) {
		b.Fatal("not stored")
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := f.c.Lookup(ctx, "tenant/credential-fingerprint", req)
		if err != nil || l.State != Fresh {
			b.Fatalf("state %v, %v", l.State, err)
		}
	}
}

func BenchmarkStore(b *testing.B) {
	f := newFixture(Options{})
	req := request("GET", target, header("Accept", "application/json"))
	resp := header("Cache-Control", "max-age=3600", "Content-Type", "application/json", "Etag", `"v1"`, "Date", httpDate(t0))
	body := make([]byte, 2048)
	b.ReportAllocs()
	for b.Loop() {
		if !f.c.storeForBench(req, resp, body) {
			b.Fatal("not stored")
		}
	}
}

// storeForBench stores a 200 with header h and body for req in the
// benchmarks' partition at the cache's now.
func (c *Cache) storeForBench(req *http.Request, h http.Header, body []byte) bool {
	now := c.o.Now()
	resp := &http.Response{StatusCode: 200, Header: h, ContentLength: int64(len(body))}
	ok, err := c.Store(context.Background(), "tenant/credential-fingerprint", req, resp, body, now, now.Add(-time.Duration(0)))
	return ok && err == nil
}
