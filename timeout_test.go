package heed_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

// TestUpstreamTimeoutBoundsHeadersNotBodies: an upstream that is slow to
// answer fails the attempt with ErrUpstreamTimeout; one that answers at
// once and then streams slowly is read to the end.
func TestUpstreamTimeoutBoundsHeadersNotBodies(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-head" {
			time.Sleep(500 * time.Millisecond)
		}
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for range 3 {
			time.Sleep(100 * time.Millisecond)
			_, _ = io.WriteString(w, "tick\n")
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: srv.URL, Timeout: 150 * time.Millisecond,
		Retry: heed.RetryPolicy{Attempts: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	client := &http.Client{Transport: tr}

	start := time.Now()
	_, err = client.Get(srv.URL + "/slow-head")
	if !errors.Is(err, heed.ErrUpstreamTimeout) || time.Since(start) > 450*time.Millisecond {
		t.Fatalf("slow headers: %v after %v, want ErrUpstreamTimeout after about 150ms", err, time.Since(start))
	}
	resp, err := client.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "tick\ntick\ntick\n" {
		t.Fatalf("stream: %q %v, want three ticks over 300ms", body, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stream", nil)
	if resp, err := client.Do(req); err != nil {
		t.Fatal(err)
	} else {
		_ = resp.Body.Close() // closing early ends the attempt's context
	}
}

// TestWithMaxWait: under WithMaxWait a request that would wait longer is
// answered at once with a synthetic response saying how long, while the
// same request without it waits.
func TestWithMaxWait(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: srv.URL,
		Limits: []heed.Limit{{Requests: 1, Per: 2 * time.Second}}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	client := &http.Client{Transport: tr}
	if resp, err := client.Get(srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first: %v %v", resp, err)
	}
	req, _ := http.NewRequestWithContext(heed.WithMaxWait(context.Background(), 100*time.Millisecond), "GET", srv.URL, nil)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticLimit || resp.Header.Get("Retry-After") == "" || time.Since(start) > time.Second {
		t.Fatalf("under WithMaxWait: %v %v after %v, want a synthetic limit at once", resp, err, time.Since(start))
	}
	resp.Body.Close()
}
