package heed_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// BenchmarkLearning is issue 15's learning matrix: for every algorithm
// and dialect of heed mock (20 requests a second, 1-second windows), one
// iteration is a cold start of a Transport that is told no limit
// ("learning") or told it ("told"), hammered by 32 workers for 3 windows.
// It reports the share of the quota accepted over the 3 windows
// (quota_%), in the last window alone (last_window_%), and the share of
// requests the API refused (refused_%). Run it with -benchtime 1x; the
// issue's target for learning is quota_% >= 90 and refused_% < 0.5 in
// every row.
func BenchmarkLearning(b *testing.B) {
	for _, alg := range []string{mockapi.AlgorithmFixed, mockapi.AlgorithmSliding, mockapi.AlgorithmToken} {
		for _, dialect := range []string{mockapi.DialectOpenAI, mockapi.DialectAnthropic, mockapi.DialectGitHub, mockapi.DialectIETF} {
			for _, told := range []bool{false, true} {
				name := alg + "/" + dialect + "/learning"
				if told {
					name = alg + "/" + dialect + "/told"
				}
				b.Run(name, func(b *testing.B) {
					var quota, last, refused float64
					for b.Loop() {
						q, l, r := learningRun(b, alg, dialect, told)
						quota, last, refused = quota+q, last+l, refused+r
					}
					n := float64(b.N)
					b.ReportMetric(100*quota/n, "quota_%")
					b.ReportMetric(100*last/n, "last_window_%")
					b.ReportMetric(100*refused/n, "refused_%")
				})
			}
		}
	}
}

// learningRun runs one cold start and returns the shares it got: of the
// quota over 3 windows, of the last window's, and of its requests refused.
func learningRun(b testing.TB, alg, dialect string, told bool) (quota, last, refused float64) {
	const limit, windows = 20, 3
	m, err := mockapi.New(mockapi.Config{Limit: mockapi.Limit{Algorithm: alg, Requests: limit, Per: time.Second}, Dialect: dialect})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	up := heed.Upstream{Name: "mock", BaseURL: srv.URL}
	if told {
		up.Limits = []heed.Limit{{Requests: limit, Per: time.Second}}
	}
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{up}})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	c := &http.Client{Transport: tr}
	start := time.Now()
	okBefore := make(chan int64, 1)
	go func() {
		time.Sleep((windows - 1) * time.Second)
		okBefore <- int64(m.Stats().Total.Accepted)
	}()
	hammer(b, c, srv.URL, "token-a", 32, windows*time.Second)
	st := m.Stats().Total
	elapsed := time.Since(start).Seconds()
	quota = float64(st.Accepted) / (limit * elapsed)
	last = float64(int64(st.Accepted)-<-okBefore) / limit
	refused = float64(st.Limited) / float64(max(st.Requests, 1))
	return quota, last, refused
}
