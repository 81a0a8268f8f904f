package mockapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heedhq/heed/quota"
)

// gate is a Config.Sleep that holds every accepted request until the test
// opens it, and reports each request it holds.
type gate struct {
	held chan struct{} // receives one value per held request
	open chan struct{} // closed to let every request through
}

func newGate() *gate {
	return &gate{held: make(chan struct{}, 16), open: make(chan struct{})}
}

func (g *gate) Sleep(ctx context.Context, _ time.Duration) error {
	g.held <- struct{}{}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The concurrency cap with real concurrent requests over loopback: two
// requests of a credential are held in flight, a third is refused (and
// quota reads the refusal), another credential is not limited, and the
// slots come back when the requests end.
func TestConcurrencyOverHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect string
		status  int
		wait    time.Duration
	}{
		{DialectGitHub, 403, time.Second},
		{DialectOpenAI, 429, time.Second},
		{DialectAnthropic, 429, time.Second},
		{DialectIETF, 429, time.Second},
		{DialectRetryAfter, 429, time.Second},
		{DialectNone, 429, 0},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			t.Parallel()
			g := newGate()
			s, err := New(Config{Dialect: tt.dialect, Latency: time.Hour, Sleep: g.Sleep,
				Limit: Limit{Algorithm: AlgorithmConcurrency, Concurrency: 2}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(s)
			defer srv.Close()
			done := make(chan int, 3)
			for _, cred := range []string{"k", "k"} {
				go func() { done <- getStatus(t, srv.URL, cred) }()
				<-g.held
			}
			checkRefusal(t, srv.URL, tt.status, tt.wait)
			go func() { done <- getStatus(t, srv.URL, "other") }()
			<-g.held
			close(g.open)
			for range 3 {
				if code := <-done; code != 200 {
					t.Errorf("a held request: got status %d, want 200", code)
				}
			}
			if code := getStatus(t, srv.URL, "k"); code != 200 {
				t.Errorf("after the slots came back: got status %d, want 200", code)
			}
			checkConcurrencyStats(t, s.Stats())
		})
	}
}

// getStatus sends GET url/x with the credential and returns the status.
func getStatus(t *testing.T, url, credential string) int {
	resp, err := http.DefaultClient.Do(newClientRequest(url+"/x", credential))
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// newClientRequest returns a client GET request carrying the credential.
func newClientRequest(url, credential string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, url, nil)
	r.Header.Set("Authorization", "Bearer "+credential)
	return r
}

// checkRefusal sends a third request of k and checks that it is refused
// and that quota reads the refusal.
func checkRefusal(t *testing.T, url string, status int, wait time.Duration) {
	t.Helper()
	resp, err := http.DefaultClient.Do(newClientRequest(url+"/x", "k"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sig := quota.Parse(quota.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, time.Now())
	if resp.StatusCode != status || !sig.Limited || sig.Wait != wait {
		t.Errorf("third request: got status %d limited %v wait %v, want %d true %v",
			resp.StatusCode, sig.Limited, sig.Wait, status, wait)
	}
	for _, q := range sig.Quotas {
		if q.Remaining != 0 || q.Limit != 2 || !q.Reset.IsZero() {
			t.Errorf("third request: got quota %+v, want limit 2, remaining 0 and no reset", q)
		}
	}
}

// checkConcurrencyStats checks the counters of TestConcurrencyOverHTTP.
func checkConcurrencyStats(t *testing.T, st Stats) {
	t.Helper()
	k := st.Credentials[CredID("k")]
	if k.Requests != 4 || k.Accepted != 3 || k.Limited != 1 || k.MaxInFlight != 3 {
		t.Errorf("credential k: got %+v, want 4 requests, 3 accepted, 1 limited, at most 3 in flight", k)
	}
	if st.Total.MaxInFlight != 3 {
		t.Errorf("got at most %d requests in flight, want 3", st.Total.MaxInFlight)
	}
}
