package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/serve"
)

// issueFairness is the issue's fair shares: by tenant, interactive 3 and
// batch 1, interactive by default.
func issueFairness() *heed.FairnessPolicy {
	return &heed.FairnessPolicy{By: heed.FairByTenant, DefaultPriority: "interactive",
		Priorities: []heed.Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}}
}

// priorityEcho is an upstream that keeps the Heed-Priority header of
// each request it gets.
type priorityEcho struct {
	*httptest.Server
	mu   sync.Mutex // guards seen
	seen []string
}

func newPriorityEcho(t *testing.T) *priorityEcho {
	t.Helper()
	e := &priorityEcho{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, strings.Join(r.Header.Values(serve.PriorityHeader), ","))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *priorityEcho) headers() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.seen)
}

// priorityError is heed serve's JSON error with its classes.
type priorityError struct {
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Classes []string `json:"classes"`
}

// sendPriority sends a GET through client with the Heed-Priority values given and
// returns its status and, for an error, its JSON body.
func sendPriority(t *testing.T, client *http.Client, url string, priority ...string) (int, priorityError) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer tok-priority")
	for _, p := range priority {
		req.Header.Add(serve.PriorityHeader, p)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e priorityError
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("error content type %q, want application/json", ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("error body: %v", err)
		}
	}
	return resp.StatusCode, e
}

// TestPriorityHeader: Heed-Priority names a request's class in route
// mode and through the forward proxy, never reaches the upstream, and a
// malformed one (not a class name, too long, given twice) is a JSON 400
// before anything is sent; an upstream without fair shares ignores it.
func TestPriorityHeader(t *testing.T) {
	t.Parallel()
	fair, plain := newPriorityEcho(t), newPriorityEcho(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "fair", BaseURL: fair.URL, Fairness: issueFairness()},
		{Name: "plain", BaseURL: plain.URL},
	}}})
	proxy, _ := url.Parse(base)
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	tests := []struct {
		name     string
		client   *http.Client
		url      string
		priority []string
		status   int
		code     string
	}{
		{"None", http.DefaultClient, base + "/fair/x", nil, 200, ""},
		{"Class", http.DefaultClient, base + "/fair/x", []string{"batch"}, 200, ""},
		{"JobPriority", http.DefaultClient, base + "/fair/x", []string{"3"}, 200, ""},
		{"Spaced", http.DefaultClient, base + "/fair/x", []string{" batch "}, 200, ""},
		{"ForwardProxy", viaProxy, fair.URL + "/x", []string{"batch"}, 200, ""},
		{"NoFairShares", http.DefaultClient, base + "/plain/x", []string{"batch"}, 200, ""},
		{"UpperCase", http.DefaultClient, base + "/fair/x", []string{"Batch"}, 400, serve.CodeInvalidPriority},
		{"Markup", http.DefaultClient, base + "/fair/x", []string{"<script>alert(1)</script>"}, 400, serve.CodeInvalidPriority},
		{"TooLong", http.DefaultClient, base + "/fair/x", []string{strings.Repeat("a", heed.MaxPriorityLen+1)}, 400, serve.CodeInvalidPriority},
		{"Empty", http.DefaultClient, base + "/fair/x", []string{""}, 400, serve.CodeInvalidPriority},
		{"Twice", http.DefaultClient, base + "/fair/x", []string{"batch", "interactive"}, 400, serve.CodeInvalidPriority},
		{"ForwardProxyMalformed", viaProxy, fair.URL + "/x", []string{"a b"}, 400, serve.CodeInvalidPriority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e := sendPriority(t, tt.client, tt.url, tt.priority...)
			if status != tt.status || e.Error != tt.code {
				t.Fatalf("got %d %+v, want %d %q", status, e, tt.status, tt.code)
			}
			if tt.code != "" && (!strings.Contains(e.Message, serve.PriorityHeader) || strings.Contains(e.Message, "<script>")) {
				t.Errorf("message %q: want it to name %s and not echo the value", e.Message, serve.PriorityHeader)
			}
		})
	}
	for _, seen := range append(fair.headers(), plain.headers()...) {
		if seen != "" {
			t.Errorf("an upstream saw Heed-Priority %q, want it removed", seen)
		}
	}
	if got := len(fair.headers()) + len(plain.headers()); got != 6 {
		t.Errorf("the upstreams got %d requests, want the 6 well-formed ones", got)
	}
}

// TestUnknownPriority: a class the upstream lacks is a JSON 400 naming the
// class and listing the upstream's classes, and nothing is sent. It needs
// the core's waiting room, which answers heed.ErrUnknownPriority.
func TestUnknownPriority(t *testing.T) {
	t.Parallel()
	fair := newPriorityEcho(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "fair", BaseURL: fair.URL, Fairness: issueFairness()},
	}}})
	status, e := sendPriority(t, http.DefaultClient, base+"/fair/x", "urgent")
	if status != http.StatusBadRequest || e.Error != serve.CodeUnknownPriority {
		t.Fatalf("got %d %+v, want 400 %s", status, e, serve.CodeUnknownPriority)
	}
	if !slices.Equal(e.Classes, []string{"interactive", "batch"}) || !strings.Contains(e.Message, `"urgent"`) || !strings.Contains(e.Message, `"fair"`) {
		t.Errorf("got %+v, want the class and upstream named and classes [interactive batch]", e)
	}
	if n := len(fair.headers()); n != 0 {
		t.Errorf("the upstream got %d requests, want none", n)
	}
}

// TestPriorityReachesTheWaitingRoom: the class Heed-Priority names is the
// one the request waits in, as heed_fair_admitted_total counts it; no
// header means default_priority. It needs the core's waiting room.
func TestPriorityReachesTheWaitingRoom(t *testing.T) {
	t.Parallel()
	fair := newPriorityEcho(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "fair", BaseURL: fair.URL, Fairness: issueFairness()},
	}}})
	for _, p := range [][]string{nil, {"batch"}, {"batch"}, {"1"}, {"4"}} {
		if status, e := sendPriority(t, http.DefaultClient, base+"/fair/x", p...); status != 200 {
			t.Fatalf("priority %v: %d %+v", p, status, e)
		}
	}
	metrics := scrape(t, base)
	for _, want := range []string{
		`heed_fair_admitted_total{class="interactive",upstream="fair"} 2`,
		`heed_fair_admitted_total{class="batch",upstream="fair"} 3`,
		`heed_fair_cost_total{class="batch",upstream="fair"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
	if t.Failed() {
		for line := range strings.Lines(metrics) {
			if strings.HasPrefix(line, "heed_fair_") {
				t.Log(strings.TrimSpace(line))
			}
		}
	}
}

// scrape returns heed serve's /-/metrics.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/-/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestJobClassAgainstTheConfig: heed serve shows the job engine its
// upstreams' classes, so /v1/jobs refuses a class the upstream lacks,
// naming the field, and takes a known one.
func TestJobClassAgainstTheConfig(t *testing.T) {
	t.Parallel()
	fair := newPriorityEcho(t)
	_, base := newServer(t, serve.Config{
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "fair", BaseURL: fair.URL, Fairness: issueFairness()}}},
		Jobs:   &jobs.Config{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")},
	})
	post := func(body string) (int, string) {
		resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := post(`{"upstream":"fair","path":"/x","class":"bulk"}`); st != 400 || !strings.Contains(body, `"field":"class"`) ||
		!strings.Contains(body, "interactive, batch") {
		t.Errorf("an unknown class: %d %s, want 400 naming the field and the classes", st, body)
	}
	if st, body := post(`{"upstream":"fair","path":"/x","class":"batch"}`); st != 202 {
		t.Errorf("a known class: %d %s, want 202", st, body)
	}
}
