package mockapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestEcho(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{}, newFakeClock(t0))
	get(s, "/other", "b")
	get(s, "/first", "a")
	r := newRequest("PUT", "/v1/items/7?x=1", "a", "hello")
	r.Header.Set("Idempotency-Key", "k-7")
	resp := serve(s, r)
	var got echoBody
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("hello"))
	want := echoBody{OK: true, Method: "PUT", Path: "/v1/items/7", N: 2, IdempotencyKey: "k-7",
		BodySHA256: hex.EncodeToString(sum[:])}
	if resp.StatusCode != 200 || got != want {
		t.Errorf("got %d %+v, want 200 %+v", resp.StatusCode, got, want)
	}
}

func TestEchoRefusesBodiesOverMaxBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{}, newFakeClock(t0))
	resp := serve(s, newRequest("POST", "/x", "", strings.Repeat("a", MaxBody+1)))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("got status %d, want 413", resp.StatusCode)
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		header map[string]string
		want   string // the plain credential
	}{
		{"Bearer", "/x", map[string]string{"Authorization": "Bearer sk-1"}, "sk-1"},
		{"GitHubToken", "/x", map[string]string{"Authorization": "token sk-1"}, "sk-1"},
		{"BareAuthorization", "/x", map[string]string{"Authorization": "sk-1"}, "sk-1"},
		{"APIKeyHeader", "/x", map[string]string{"X-Api-Key": "sk-1"}, "sk-1"},
		{"QueryParameter", "/x?api_key=sk-1", nil, "sk-1"},
		{"AuthorizationFirst", "/x?api_key=q", map[string]string{"Authorization": "Bearer a", "X-Api-Key": "k"}, "a"},
		{"APIKeyBeforeQuery", "/x?api_key=q", map[string]string{"X-Api-Key": "k"}, "k"},
		{"Anonymous", "/x", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", tt.target, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if got := credentialOf(r); got != tt.want {
				t.Errorf("got credential %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCredID(t *testing.T) {
	t.Parallel()
	if got := CredID(""); got != AnonymousID {
		t.Errorf("CredID(\"\"): got %q, want %q", got, AnonymousID)
	}
	// The first 12 hex digits of SHA-256("sk-1").
	sum := sha256.Sum256([]byte("sk-1"))
	if got, want := CredID("sk-1"), hex.EncodeToString(sum[:])[:12]; got != want {
		t.Errorf("CredID(sk-1): got %q, want %q", got, want)
	}
}

// The same key sent in different headers is one credential with one limit.
func TestCredentialLimitIsShared(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Minute}}, newFakeClock(t0))
	get(s, "/x", "sk-1")
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Api-Key", "sk-1")
	if resp := serve(s, r); resp.StatusCode != 429 {
		t.Errorf("got status %d for the same key in X-Api-Key, want 429", resp.StatusCode)
	}
	if resp := get(s, "/x", "sk-2"); resp.StatusCode != 200 {
		t.Errorf("got status %d for another key, want 200", resp.StatusCode)
	}
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	statuses := func(s *Server) string {
		var b strings.Builder
		for range 100 {
			b.WriteString(map[bool]string{true: "E", false: "."}[get(s, "/x", "").StatusCode == 503])
		}
		return b.String()
	}
	cfg := Config{ErrorRate: 0.3, Seed: 7}
	s1 := newTestServer(t, cfg, newFakeClock(t0))
	s2 := newTestServer(t, cfg, newFakeClock(t0))
	first := statuses(s1)
	if n := strings.Count(first, "E"); n < 15 || n > 45 {
		t.Errorf("got %d errors in 100 requests at ErrorRate 0.3, want about 30", n)
	}
	if got := statuses(s2); got != first {
		t.Errorf("the same Seed gave\n%s\nand\n%s", first, got)
	}
	if got := s1.Stats().Total.Errors; got != strings.Count(first, "E") {
		t.Errorf("got %d errors counted, want %d", got, strings.Count(first, "E"))
	}
	s1.Reset()
	if got := statuses(s1); got != first {
		t.Errorf("after Reset got\n%s\nwant the same sequence\n%s", got, first)
	}
}

// Latency delays the answer; the quota headers are measured from the
// moment the answer is sent.
func TestLatency(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{Latency: 2 * time.Second, LatencyJitter: time.Second,
		Limit: Limit{Algorithm: AlgorithmFixed, Requests: 5, Per: 10 * time.Second}}, clock)
	resp := get(s, "/x", "")
	waited := clock.Now().Sub(t0)
	if waited < 2*time.Second || waited >= 3*time.Second {
		t.Errorf("got latency %v, want from 2s to 3s", waited)
	}
	if got, want := resp.Header.Get("Ratelimit"), `"default";r=4;t=8`; got != want {
		t.Errorf("got RateLimit %q, want %q", got, want)
	}
}

func TestClientLeavingDuringLatencyIsLogged499(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{Latency: time.Hour,
		Limit: Limit{Algorithm: AlgorithmConcurrency, Concurrency: 1}}, newFakeClock(t0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, newRequest("GET", "/x", "", "").WithContext(ctx))
	if rec.Body.Len() != 0 {
		t.Errorf("got body %q for a client that left, want none", rec.Body.String())
	}
	if log := s.Log(); len(log) != 1 || log[0].Status != statusClientGone {
		t.Errorf("got log %+v, want one entry with status 499", log)
	}
	if resp := get(s, "/x", ""); resp.StatusCode != 200 {
		t.Errorf("got status %d after the slot was freed, want 200", resp.StatusCode)
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{}, clock)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, newRequest("GET", "/stream?events=3&interval=50ms", "", ""))
	want := "id: 1\nevent: tick\ndata: {\"n\":1,\"of\":3}\n\n" +
		"id: 2\nevent: tick\ndata: {\"n\":2,\"of\":3}\n\n" +
		"id: 3\nevent: tick\ndata: {\"n\":3,\"of\":3}\n\n"
	if rec.Body.String() != want || !rec.Flushed {
		t.Errorf("got body %q (flushed %v), want %q flushed", rec.Body.String(), rec.Flushed, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("got Content-Type %q, want text/event-stream", ct)
	}
	if got := clock.Now().Sub(t0); got != 100*time.Millisecond {
		t.Errorf("got %v between the first and last event, want 100ms", got)
	}
}

func TestStreamAndStatusParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target     string
		wantStatus int
	}{
		{"/stream", 200},
		{"/stream?events=0", 400},
		{"/stream?events=x", 400},
		{"/stream?events=10001", 400},
		{"/stream?interval=-1s", 400},
		{"/stream?interval=2m", 400},
		{"/status/503", 503},
		{"/status/204", 204},
		{"/status/200", 200},
		{"/status/42", 400},
		{"/status/abc", 400},
		{"/status/600", 400},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.target, "/"), func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Config{}, newFakeClock(t0))
			if resp := get(s, tt.target, ""); resp.StatusCode != tt.wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

// The limit applies to /stream and /status too.
func TestStatusEndpointIsLimited(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Minute}}, newFakeClock(t0))
	get(s, "/status/503", "")
	if resp := get(s, "/status/503", ""); resp.StatusCode != 429 {
		t.Errorf("got status %d, want 429", resp.StatusCode)
	}
	checkCounts(t, s.Stats().Total, Counts{Requests: 2, Limited: 1, Errors: 1})
}
