package heed_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
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
