package heed_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
)

// reused is a base transport that answers every request with the same
// response, its body rewound: what is left to measure is the Transport.
type reused struct {
	resp *http.Response
	body *strings.Reader
}

func (r *reused) RoundTrip(req *http.Request) (*http.Response, error) {
	r.body.Reset(`{"ok":true}`)
	r.resp.Request = req
	return r.resp, nil
}

// BenchmarkTransport measures heed alone over a base that allocates
// nothing, on one request sent again and again: the added cost without the
// noise of building requests and responses (bench/AddedCost measures it
// against peers).
func BenchmarkTransport(b *testing.B) {
	body := strings.NewReader("")
	base := &reused{body: body, resp: &http.Response{StatusCode: 200, Header: http.Header{
		"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"4999"}, "Content-Type": {"application/json"}}, Body: io.NopCloser(body)}}
	off := false
	tr, err := heed.New(heed.Config{Base: base, Upstreams: []heed.Upstream{{Name: "bench", BaseURL: "https://api.example.com", Adaptive: &off,
		Limits: []heed.Limit{{Requests: 1_000_000_000, Per: time.Second}}}}})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/repos/o/r", nil)
	req.Header.Set("Authorization", "Bearer ghp_benchmarktoken")
	b.ReportAllocs()
	for b.Loop() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// BenchmarkFairCost measures what fair shares add to a request's admission
// (Upstream.Fairness: the waiting room, the class and flow, and the
// store's turn among the fleet's rooms) against the same upstream without
// them, on the memory store and on a private redis-server, from g
// goroutines of 2 tenants under a limit that always has room: with g=2
// (one per core) the room is mostly empty and a request its head at
// once; with g=8 it is never empty, and what is measured is queuing
// itself (one head at a time asks the store).
func BenchmarkFairCost(b *testing.B) {
	redisURL := "redis://" + testenv.Redis(b) + "/0"
	for _, st := range []struct{ name, url string }{{"memory", ""}, {"redis", redisURL}} {
		for _, fair := range []bool{false, true} {
			for _, par := range []int{2, 8} {
				name := fmt.Sprintf("%s/plain/g=%d", st.name, par)
				if fair {
					name = fmt.Sprintf("%s/fair/g=%d", st.name, par)
				}
				b.Run(name, func(b *testing.B) { benchFair(b, st.url, fair, par) })
			}
		}
	}
}

func benchFair(b *testing.B, storeURL string, fair bool, par int) {
	base := sharedBody{}
	off := false
	up := heed.Upstream{Name: "bench", BaseURL: "https://api.example.com", Adaptive: &off,
		Limits: []heed.Limit{{Requests: 1_000_000_000, Per: time.Second}}}
	if fair {
		up.Fairness = &heed.FairnessPolicy{Priorities: []heed.Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}}
	}
	tr, err := heed.New(heed.Config{Base: base, Store: storeURL, Stores: config.Stores{}, FingerprintSecret: "a secret for the benchmark", Upstreams: []heed.Upstream{up}})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	b.ReportAllocs()
	b.SetParallelism(max(par/runtime.GOMAXPROCS(0), 1))
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		tenant := fmt.Sprint("t", n.Add(1)%2)
		ctx := heed.WithTenant(context.Background(), tenant)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/repos/o/r", nil)
		req.Header.Set("Authorization", "Bearer ghp_benchmarktoken")
		for pb.Next() {
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			_ = resp.Body.Close()
		}
	})
}

// sharedBody answers every request 200 with an empty body, safe for
// concurrent use.
type sharedBody struct{}

func (sharedBody) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}
