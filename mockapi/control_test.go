package mockapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// call is one request in a sequence and the answer it should get.
type call struct {
	at         time.Duration // since t0
	credential string
	status     int
	retryAfter string // the Retry-After header, "" for none
	duringWait bool
}

// runCalls sends the calls to s on clock and checks each answer and its log
// entry.
func runCalls(t *testing.T, s *Server, clock *fakeClock, calls []call) {
	t.Helper()
	for i, c := range calls {
		clock.Set(t0.Add(c.at))
		resp := get(s, "/x", c.credential)
		if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter {
			t.Errorf("call %d (%s at +%v): got %d Retry-After %q, want %d Retry-After %q", i, c.credential, c.at,
				resp.StatusCode, resp.Header.Get("Retry-After"), c.status, c.retryAfter)
		}
		log := s.Log()
		if got := log[len(log)-1].DuringWait; got != c.duringWait {
			t.Errorf("call %d (%s at +%v): got during_wait %v, want %v", i, c.credential, c.at, got, c.duringWait)
		}
	}
}

func TestForce(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{Dialect: DialectNone}, clock)
	mustForce(t, s, Force{Credential: "a", Status: 429, RetryAfter: 1500 * time.Millisecond, Count: 2})
	mustForce(t, s, Force{Status: 500})
	runCalls(t, s, clock, []call{
		{at: 0, credential: "a", status: 429, retryAfter: "2"},
		{at: 0, credential: "b", status: 500},
		{at: time.Second, credential: "a", status: 429, retryAfter: "2", duringWait: true},
		{at: 2 * time.Second, credential: "a", status: 200, duringWait: true},
		{at: 2500 * time.Millisecond, credential: "a", status: 200},
		{at: 3 * time.Second, credential: "b", status: 200},
	})
	mustForce(t, s, Force{Credential: "b", Status: 503, RetryAfter: time.Second})
	mustForce(t, s, Force{Credential: "b", Status: 502})
	runCalls(t, s, clock, []call{
		{at: 4 * time.Second, credential: "b", status: 502},
		{at: 4 * time.Second, credential: "b", status: 200},
	})
}

// mustForce calls s.Force and fails the test on an error.
func mustForce(t *testing.T, s *Server, f Force) {
	t.Helper()
	if err := s.Force(f); err != nil {
		t.Fatalf("Force(%+v): %v", f, err)
	}
}

func TestForceEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		body       string
		wantStatus int
		wantError  string // a part of the error message
	}{
		{"Valid", "POST", `{"credential":"a","status":429,"retry_after_seconds":2,"count":1}`, 200, ""},
		{"EveryCredential", "POST", `{"status":503}`, 200, ""},
		{"NotJSON", "POST", `status=429`, 400, "not a force request"},
		{"UnknownField", "POST", `{"status":429,"retry_after":2}`, 400, "unknown field"},
		{"StatusOutOfRange", "POST", `{"status":99}`, 400, "Force.Status 99"},
		{"NegativeRetryAfter", "POST", `{"status":429,"retry_after_seconds":-1}`, 400, "retry_after_seconds"},
		{"HugeRetryAfter", "POST", `{"status":429,"retry_after_seconds":1e300}`, 400, "retry_after_seconds"},
		{"NegativeCount", "POST", `{"status":429,"count":-2}`, 400, "Force.Count -2"},
		{"WrongMethod", "GET", ``, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Config{}, newFakeClock(t0))
			resp := serve(s, newRequest(tt.method, "/_mock/force", "", tt.body))
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if body := readBody(t, resp); !strings.Contains(body, tt.wantError) {
				t.Errorf("got body %q, want it to contain %q", body, tt.wantError)
			}
		})
	}
}

func TestForceEndpointForcesTheNextRequest(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{}, newFakeClock(t0))
	serve(s, newRequest("POST", "/_mock/force", "", `{"credential":"sk-1","status":429,"retry_after_seconds":2}`))
	if resp := get(s, "/x", "sk-1"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("got %d Retry-After %q, want 429 Retry-After 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// A credential is told to wait by a refusal that states a wait, until that
// wait ends; the bare dialect states none.
func TestDuringWait(t *testing.T) {
	t.Parallel()
	limit := Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: 10 * time.Second}
	t.Run("StatedWait", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock(t0)
		s := newTestServer(t, Config{Limit: limit, Dialect: DialectRetryAfter}, clock)
		runCalls(t, s, clock, []call{
			{at: 0, credential: "a", status: 200},
			{at: 1 * time.Second, credential: "a", status: 429, retryAfter: "9"},
			{at: 5 * time.Second, credential: "a", status: 429, retryAfter: "5", duringWait: true},
			{at: 5 * time.Second, credential: "b", status: 200},
			{at: 10 * time.Second, credential: "a", status: 200},
		})
		checkCounts(t, s.Stats().Credentials[CredID("a")], Counts{Requests: 4, Accepted: 2, Limited: 2, DuringWait: 1})
		checkCounts(t, s.Stats().Total, Counts{Requests: 5, Accepted: 3, Limited: 2, DuringWait: 1})
	})
	t.Run("BareRefusalTellsNothing", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock(t0)
		s := newTestServer(t, Config{Limit: limit, Dialect: DialectNone}, clock)
		runCalls(t, s, clock, []call{
			{at: 0, credential: "a", status: 200},
			{at: 1 * time.Second, credential: "a", status: 429},
			{at: 2 * time.Second, credential: "a", status: 429},
		})
	})
	t.Run("Forced500WithRetryAfterTellsNothing", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock(t0)
		s := newTestServer(t, Config{}, clock)
		mustForce(t, s, Force{Status: 500, RetryAfter: time.Minute})
		runCalls(t, s, clock, []call{
			{at: 0, credential: "a", status: 500, retryAfter: "60"},
			{at: time.Second, credential: "a", status: 200},
		})
	})
}

// checkCounts compares the counters, ignoring in-flight and times.
func checkCounts(t *testing.T, got, want Counts) {
	t.Helper()
	got.MaxInFlight, got.FirstRequest, got.LastRequest = 0, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("got counts %+v, want %+v", got, want)
	}
}

func TestStatsEndpoint(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Minute}}, clock)
	get(s, "/x", "secret-token")
	clock.Set(t0.Add(1500 * time.Millisecond))
	get(s, "/x", "secret-token")
	get(s, "/status/502", "")
	resp := get(s, "/_mock/stats", "")
	// encoding/json sorts map keys; this cred id starts with 9, before "anonymous".
	body := readBody(t, resp)
	if strings.Contains(body, "secret-token") {
		t.Fatalf("stats show a credential in plain text: %s", body)
	}
	want := `{"total":{"requests":3,"accepted":1,"limited":1,"errors":1,"during_wait":0,"max_in_flight":1,` +
		`"first_request":"2026-11-22T12:00:00Z","last_request":"2026-11-22T12:00:01.5Z"},"credentials":{` +
		`"` + CredID("secret-token") + `":{"requests":2,"accepted":1,"limited":1,"errors":0,"during_wait":0,"max_in_flight":1,` +
		`"first_request":"2026-11-22T12:00:00Z","last_request":"2026-11-22T12:00:01.5Z"},` +
		`"anonymous":{"requests":1,"accepted":0,"limited":0,"errors":1,"during_wait":0,"max_in_flight":1,` +
		`"first_request":"2026-11-22T12:00:01.5Z","last_request":"2026-11-22T12:00:01.5Z"}}}` + "\n"
	if body != want {
		t.Errorf("got stats\n%s\nwant\n%s", body, want)
	}
}

func TestLogEndpoint(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0.Add(250 * time.Millisecond))
	s := newTestServer(t, Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Minute}}, clock)
	r := newRequest("POST", "/v1/jobs", "secret-token", `{}`)
	r.Header.Set("Idempotency-Key", "job-1")
	serve(s, r)
	get(s, "/v1/jobs", "secret-token")
	get(s, "/v1/jobs", "secret-token")
	body := readBody(t, get(s, "/_mock/log", ""))
	id := CredID("secret-token")
	want := []string{
		`{"time":"2026-11-22T12:00:00.25Z","cred_id":"` + id + `","method":"POST","path":"/v1/jobs","status":200,"during_wait":false,"idempotency_key":"job-1"}`,
		`{"time":"2026-11-22T12:00:00.25Z","cred_id":"` + id + `","method":"GET","path":"/v1/jobs","status":429,"during_wait":false}`,
		`{"time":"2026-11-22T12:00:00.25Z","cred_id":"` + id + `","method":"GET","path":"/v1/jobs","status":429,"during_wait":true}`,
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for i := 0; sc.Scan(); i++ {
		if i >= len(want) || sc.Text() != want[i] {
			t.Errorf("log line %d: got %s, want %s", i, sc.Text(), want[min(i, len(want)-1)])
		}
		var e LogEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("log line %d does not decode as a LogEntry: %v", i, err)
		}
	}
	if n := strings.Count(body, "\n"); n != len(want) {
		t.Errorf("got %d log lines, want %d", n, len(want))
	}
}

func TestLogKeepsTheNewestEntries(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{LogSize: 3}, newFakeClock(t0))
	for _, p := range []string{"/1", "/2", "/3", "/4", "/5"} {
		get(s, p, "")
	}
	var got []string
	for _, e := range s.Log() {
		got = append(got, e.Path)
	}
	if strings.Join(got, " ") != "/3 /4 /5" {
		t.Errorf("got log paths %v, want /3 /4 /5", got)
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Hour}}, clock)
	get(s, "/x", "a")
	get(s, "/x", "a")
	mustForce(t, s, Force{Credential: "a", Status: 500})
	if resp := serve(s, newRequest("POST", "/_mock/reset", "", "")); resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: got status %d, want 200", resp.StatusCode)
	}
	if st := s.Stats(); st.Total != (Counts{}) || len(st.Credentials) != 0 || len(s.Log()) != 0 {
		t.Errorf("after reset: got stats %+v and %d log entries, want none", st, len(s.Log()))
	}
	runCalls(t, s, clock, []call{{at: time.Second, credential: "a", status: 200}})
}

// Control endpoints are neither limited nor counted, and unknown ones are
// 404s.
func TestControlEndpointsAreNotCounted(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Hour}}, newFakeClock(t0))
	for range 3 {
		if resp := get(s, "/_mock/stats", ""); resp.StatusCode != 200 {
			t.Fatalf("stats: got status %d, want 200", resp.StatusCode)
		}
	}
	if resp := get(s, "/_mock/nothing", ""); resp.StatusCode != 404 {
		t.Errorf("unknown control endpoint: got status %d, want 404", resp.StatusCode)
	}
	if resp := get(s, "/_mock/reset", ""); resp.StatusCode != 405 {
		t.Errorf("GET /_mock/reset: got status %d, want 405", resp.StatusCode)
	}
	if n := s.Stats().Total.Requests; n != 0 {
		t.Errorf("got %d requests counted, want 0", n)
	}
}
