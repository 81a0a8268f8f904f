package prom_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/metrics/prom"
	"github.com/heedhq/heed/mockapi"
)

// Export what a Transport does to Prometheus: register the collectors, give
// them to heed.New, serve the registry.
func Example() {
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	api, _ := mockapi.New(mockapi.Config{
		Limit:   mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 5000, Per: time.Hour},
		Dialect: mockapi.DialectGitHub,
		Now:     func() time.Time { return start },
	})
	srv := httptest.NewServer(api)
	defer srv.Close()

	reg := prometheus.NewRegistry()
	m, err := prom.New(reg)
	if err != nil {
		panic(err)
	}
	t, err := heed.New(heed.Config{Metrics: m, Upstreams: []heed.Upstream{{Name: "github", BaseURL: srv.URL}}})
	if err != nil {
		panic(err)
	}
	defer t.Close()
	client := &http.Client{Transport: t}

	_ = api.Force(mockapi.Force{Status: 404})
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/repos/o/r", nil)
		req.Header.Set("Authorization", "Bearer ghp_example")
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}

	// In a program: http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).
	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(scrape.Body.String()) {
		if strings.HasPrefix(line, "heed_requests_total") || strings.HasPrefix(line, "heed_quota_remaining") ||
			strings.HasPrefix(line, "heed_breaker_state{") {
			fmt.Print(line)
		}
	}
	// Output:
	// heed_breaker_state{upstream="github"} 0
	// heed_quota_remaining{quota="core",upstream="github"} 4998
	// heed_requests_total{outcome="client_error",upstream="github"} 1
	// heed_requests_total{outcome="ok",upstream="github"} 2
}
