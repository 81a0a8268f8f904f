package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// cacheableBody is a 2 KiB JSON body, about a GitHub repository's.
var cacheableBody = []byte(`{"padding":"` + strings.Repeat("x", 2048-15) + `"}`)

// cacheable is a base transport that answers at once from memory with a
// response a cache may keep a minute (ETag, max-age=60), counting what it
// was sent.
type cacheable struct{ sent atomic.Int64 }

func (c *cacheable) RoundTrip(req *http.Request) (*http.Response, error) {
	c.sent.Add(1)
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"4999"}, "Content-Type": {"application/json"},
			"Etag": {`"abc123"`}, "Cache-Control": {"private, max-age=60"}, "Vary": {"Accept, Authorization"},
			"Date": {time.Now().UTC().Format(http.TimeFormat)},
		},
		Body: io.NopCloser(bytes.NewReader(cacheableBody)), ContentLength: int64(len(cacheableBody)), Request: req,
	}, nil
}

// heedWith returns a heed Transport over base with one upstream for url,
// as heedOver does, changed by f.
func heedWith(b *testing.B, base http.RoundTripper, url string, f func(*heed.Upstream)) *heed.Transport {
	b.Helper()
	off := false
	up := heed.Upstream{Name: "bench", BaseURL: url, Adaptive: &off, Limits: []heed.Limit{{Requests: 1_000_000_000, Per: time.Second}}}
	f(&up)
	t, err := heed.New(heed.Config{Base: base, Upstreams: []heed.Upstream{up}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = t.Close() })
	return t
}

// getPath sends one authenticated GET of url through rt and drains the
// answer.
func getPath(b *testing.B, rt http.RoundTripper, url string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer ghp_benchmarktoken")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// BenchmarkCacheCost measures a GET of a 2 KiB cacheable response through
// heed without a cache (nocache), answered by a fresh entry (hit), missing
// and stored (miss: a new URL each time), and through coalescing alone
// with one caller (coalesce): all over a base that answers from memory,
// so that only heed's work is measured.
func BenchmarkCacheCost(b *testing.B) {
	const url = "https://api.example.com"
	on := func(u *heed.Upstream) { u.Cache.Enabled = true }
	for _, c := range []struct {
		name string
		up   func(*heed.Upstream)
		path func(i int) string
	}{
		{"nocache", func(*heed.Upstream) {}, func(int) string { return "/repos/o/r" }},
		{"hit", on, func(int) string { return "/repos/o/r" }},
		{"miss", on, func(i int) string { return "/repos/o/r?page=" + strconv.Itoa(i) }},
		{"coalesce", func(u *heed.Upstream) { u.Coalesce = true }, func(int) string { return "/repos/o/r" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			base := &cacheable{}
			rt := heedWith(b, base, url, c.up)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				getPath(b, rt, url+c.path(i))
				i++
			}
			b.ReportMetric(float64(base.sent.Load())/float64(i), "sent/op")
		})
	}
}

// BenchmarkPolling is a GitHub-like polling workload over loopback against
// heed mock (GitHub's dialect: a 304 to a conditional request is free):
// 16 workers poll 4 hot resources, 1,000 requests an op, one resource
// changing every 100 requests. It runs without heed's cache, with it, and
// with it and coalescing, against resources fresh for a minute (GitHub's
// max-age=60) and resources to revalidate every time (max-age=0), and
// reports the requests that reached the API and the units of its quota
// spent per 1,000 requests.
func BenchmarkPolling(b *testing.B) {
	const (
		workers   = 16
		requests  = 1000
		resources = 4
	)
	zero := time.Duration(0)
	for _, fresh := range []struct {
		name   string
		maxAge *time.Duration
	}{{"maxage60", nil}, {"maxage0", &zero}} {
		for _, mode := range []struct {
			name string
			up   func(*heed.Upstream)
		}{
			{"nocache", func(*heed.Upstream) {}},
			{"cache", func(u *heed.Upstream) { u.Cache.Enabled = true }},
			{"cache+coalesce", func(u *heed.Upstream) { u.Cache.Enabled, u.Coalesce = true, true }},
		} {
			b.Run(fresh.name+"/"+mode.name, func(b *testing.B) {
				var sent, spent int64
				for b.Loop() {
					s, q := pollOnce(b, fresh.maxAge, mode.up, workers, requests, resources)
					sent += s
					spent += q
				}
				b.ReportMetric(float64(sent)/float64(b.N), "sent/1000req")
				b.ReportMetric(float64(spent)/float64(b.N), "quota/1000req")
			})
		}
	}
}

// pollOnce runs the polling workload once against a fresh mock and
// returns the requests that reached it and the quota units they spent.
func pollOnce(b *testing.B, maxAge *time.Duration, setup func(*heed.Upstream), workers, requests, resources int) (int64, int64) {
	b.StopTimer()
	m, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub, Cache: mockapi.Cache{MaxAge: maxAge},
		Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 1_000_000, Per: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	base := &http.Transport{MaxIdleConnsPerHost: workers}
	defer base.CloseIdleConnections()
	up := heed.Upstream{Name: "gh", BaseURL: srv.URL, Vendor: "github"}
	setup(&up)
	tr, err := heed.New(heed.Config{Base: base, Upstreams: []heed.Upstream{up}})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	b.StartTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(requests) {
					return
				}
				if i%100 == 0 {
					_, _ = m.BumpResource(fmt.Sprint("hot", i/100%int64(resources)))
				}
				getPath(b, tr, fmt.Sprintf("%s/resources/hot%d", srv.URL, i%int64(resources)))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	st := m.Stats()
	var sent, spent int64
	for _, r := range st.Resources {
		sent += int64(r.OK + r.NotModified)
		spent += int64(r.OK) // GitHub charges a 200, not a 304
	}
	b.StartTimer()
	return sent, spent
}
