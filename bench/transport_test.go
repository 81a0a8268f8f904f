package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heedhq/heed"
)

// instant is a base transport that answers at once from memory, so that a
// benchmark through it measures only what the layers above it add.
type instant struct{}

func (instant) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"4999"}, "Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader([]byte(`{"ok":true}`))), ContentLength: 11, Request: req,
	}, nil
}

// instantQuota is instant with a whole quota of a billion a second in
// GitHub's headers (its reset the next whole second but one), so that a
// Transport told no limit learns its window and paces under it.
type instantQuota struct{}

func (instantQuota) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, _ := instant{}.RoundTrip(req)
	resp.Header = http.Header{"X-Ratelimit-Limit": {"1000000000"}, "X-Ratelimit-Remaining": {"999999999"},
		"X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Unix()+2, 10)}, "Content-Type": {"application/json"}}
	return resp, nil
}

// learningOver returns a heed Transport over base with one upstream for
// url, told no limit: it paces by what the answers say.
func learningOver(b *testing.B, base http.RoundTripper, url string) *heed.Transport {
	b.Helper()
	t, err := heed.New(heed.Config{Base: base, Upstreams: []heed.Upstream{{Name: "bench", BaseURL: url}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = t.Close() })
	return t
}

// heedOver returns a heed Transport over base with one upstream for url and
// a configured limit far above what the benchmark reaches, so every request
// goes through the whole admission path without waiting.
func heedOver(b *testing.B, base http.RoundTripper, url string) *heed.Transport {
	b.Helper()
	off := false
	t, err := heed.New(heed.Config{Base: base, Upstreams: []heed.Upstream{{
		Name: "bench", BaseURL: url, Adaptive: &off,
		Limits: []heed.Limit{{Requests: 1_000_000_000, Per: time.Second}},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = t.Close() })
	return t
}

// retryableOver returns go-retryablehttp, with its defaults and its logger
// silenced, as a RoundTripper over base: the peer measured beside heed.
func retryableOver(base http.RoundTripper) http.RoundTripper {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient.Transport = base
	return &retryablehttp.RoundTripper{Client: rc}
}

// roundTrip sends one authenticated GET of a repository through rt and
// drains the answer.
func roundTrip(b *testing.B, rt http.RoundTripper, url string) { getPath(b, rt, url+"/repos/o/r") }

// BenchmarkAddedCost measures heed over a base that answers from memory,
// against that base alone: the difference is what heed adds per request
// (match, fingerprint, store admission, signal parsing, bookkeeping).
// go-retryablehttp over the same base is measured beside it, and heed told
// no limit (heed-learning) over a base whose answers describe a quota.
func BenchmarkAddedCost(b *testing.B) {
	const url = "https://api.example.com"
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"bare", instant{}},
		{"heed", heedOver(b, instant{}, url)},
		{"heed-learning", learningOver(b, instantQuota{}, url)},
		{"retryablehttp", retryableOver(instant{})},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(b, c.rt, url)
			}
		})
	}
}

// BenchmarkLoopback measures the same over real HTTP to an httptest server
// on loopback, against a bare http.Transport in the same run.
func BenchmarkLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Ratelimit-Remaining", "4999")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	b.Cleanup(srv.Close)
	bare := &http.Transport{MaxIdleConnsPerHost: 4}
	b.Cleanup(bare.CloseIdleConnections)
	base := &http.Transport{MaxIdleConnsPerHost: 4}
	b.Cleanup(base.CloseIdleConnections)
	peerBase := &http.Transport{MaxIdleConnsPerHost: 4}
	b.Cleanup(peerBase.CloseIdleConnections)
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"bare", bare},
		{"heed", heedOver(b, base, srv.URL)},
		{"retryablehttp", retryableOver(peerBase)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(b, c.rt, srv.URL)
			}
		})
	}
}
