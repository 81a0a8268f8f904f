package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/heedhq/heed/httpcache"
)

// Example_cache stores a response, serves it while fresh, and revalidates
// it with a 304 once stale, on a fixed clock.
func Example_cache() {
	ctx := context.Background()
	now := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cache := httpcache.New(httpcache.NewMemory(64<<20, clock), httpcache.Options{Now: clock})
	const partition = "tenant-a/key-1" // heed passes a keyed fingerprint

	req, _ := http.NewRequest("GET", "https://api.example.com/v1/items?api_key=SECRET", nil)
	resp := &http.Response{StatusCode: 200, Header: http.Header{
		"Cache-Control": {"max-age=60"},
		"Etag":          {`"v1"`},
		"Date":          {now.Format(http.TimeFormat)},
	}}
	stored, _ := cache.Store(ctx, partition, req, resp, []byte("[1,2,3]"), now, now)
	fmt.Println("stored:", stored)

	now = now.Add(30 * time.Second)
	l, _ := cache.Lookup(ctx, partition, req)
	hit := cache.Response(l.Entry, req)
	body, _ := io.ReadAll(hit.Body)
	fmt.Println(l.State, hit.StatusCode, string(body), "Age:", hit.Header.Get("Age"))

	now = now.Add(time.Minute)
	l, _ = cache.Lookup(ctx, partition, req)
	cond := req.Header.Clone()
	l.Conditional(cond)
	fmt.Println(l.State, "If-None-Match:", cond.Get("If-None-Match"))

	notModified := &http.Response{StatusCode: 304, Header: http.Header{
		"Cache-Control": {"max-age=300"},
		"Date":          {now.Format(http.TimeFormat)},
	}}
	e, _ := cache.Refresh(ctx, partition, l, req, notModified, now, now)
	fmt.Println("refreshed:", e.Header.Get("Cache-Control"), string(e.Body))

	l, _ = cache.Lookup(ctx, partition, req)
	fmt.Println(l.State)
	// Output:
	// stored: true
	// fresh 200 [1,2,3] Age: 30
	// stale If-None-Match: "v1"
	// refreshed: max-age=300 [1,2,3]
	// fresh
}

// ExampleFreshnessLifetime uses the Expires example of RFC 9111 5.3 with
// the Date example of RFC 9110 6.6.1.
func ExampleFreshnessLifetime() {
	h := http.Header{
		"Date":    {"Tue, 15 Nov 1994 08:12:31 GMT"},
		"Expires": {"Thu, 01 Dec 1994 16:00:00 GMT"},
	}
	fmt.Println(httpcache.FreshnessLifetime(200, h, httpcache.Options{}))
	// Output: 391h47m29s
}

func ExampleParseCacheControl() {
	d := httpcache.ParseCacheControl([]string{`max-age=60, no-cache="Set-Cookie"`, "must-revalidate"})
	fmt.Println(d.MaxAge, d.NoCache, d.NoCacheFields, d.MustRevalidate)
	// Output: 1m0s false [Set-Cookie] true
}

func ExampleFlightKey() {
	a, _ := http.NewRequest("GET", "https://api.example.com/v1/items", nil)
	b, _ := http.NewRequest("GET", "https://API.example.com:443/v1/items", nil)
	b.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	fmt.Println(httpcache.FlightKey("p", a) == httpcache.FlightKey("p", b))
	// Output: true
}
