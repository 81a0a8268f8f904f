package jobs_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// twoClasses are the fair shares: interactive 3, batch 1.
var twoClasses = &heed.FairnessPolicy{By: heed.FairByTenant, DefaultPriority: "interactive",
	Priorities: []heed.Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}}

// fairRecorder keeps the classes of the requests leaving the waiting
// room, in order.
type fairRecorder struct {
	heed.NoMetrics
	mu      sync.Mutex // guards classes
	classes []string
}

func (r *fairRecorder) Fair(_ string, ev heed.FairEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.classes = append(r.classes, ev.Class+"/"+ev.Result)
}

func (r *fairRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.classes)
}

// fairEngine starts an engine of one worker over a heed Transport whose
// upstream "mock" has fair shares, and whose Metrics rec hears of them;
// classes is the engine's Options.Classes.
func fairEngine(t *testing.T, rec heed.Metrics, classes func(string) []string) (*jobs.Engine, *mockapi.Server) {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Metrics: rec, Upstreams: []heed.Upstream{
		{Name: "mock", BaseURL: srv.URL, Fairness: twoClasses, Retry: heed.RetryPolicy{Attempts: 1}},
		{Name: "plain", BaseURL: srv.URL + "/plain"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return startEngine(t, jobs.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), Transport: tr,
		Upstreams: map[string]string{"mock": srv.URL, "plain": srv.URL + "/plain"}, Workers: 1,
		SnoozeAfter: 200 * time.Millisecond, Classes: classes}), m
}

// configClasses is Options.Classes as heed serve gives it: mock has the
// two classes, plain none.
func configClasses(upstream string) []string {
	if upstream == "mock" {
		return []string{"interactive", "batch"}
	}
	return nil
}

// TestClassCheckedOnSubmission: with the classes in sight, the job API
// refuses a class its upstream lacks (naming the field and the classes),
// and one for an upstream without fair shares; it takes a known one.
// Nothing refused is stored.
func TestClassCheckedOnSubmission(t *testing.T) {
	t.Parallel()
	e, _ := fairEngine(t, heed.NoMetrics{}, configClasses)
	srv := httptest.NewServer(e.Handler(jobs.APIOptions{}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path, body string
		status           int
		field, message   string
	}{
		{"Known", "/v1/jobs", `{"upstream":"mock","path":"/items","class":"batch"}`, 202, "", ""},
		{"Unknown", "/v1/jobs", `{"upstream":"mock","path":"/items","class":"urgent"}`, 400, "class",
			`"urgent" is not a priority class of upstream "mock" (its classes: interactive, batch)`},
		{"NoFairShares", "/v1/jobs", `{"upstream":"plain","path":"/items","class":"batch"}`, 400, "class",
			`upstream "plain" has no fair shares`},
		{"Invalid", "/v1/jobs", `{"upstream":"mock","path":"/items","class":"Batch<script>"}`, 400, "class", "want a priority class"},
		{"BatchUnknown", "/v1/jobs:batch", `{"jobs":[{"upstream":"mock","path":"/a","class":"batch"},{"upstream":"mock","path":"/b","class":"bulk"}]}`,
			400, "jobs[1].class", `"bulk" is not a priority class`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Error   string `json:"error"`
				Message string `json:"message"`
				Fields  []struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"fields"`
			}
			st := call(t, "POST", srv.URL+tt.path, tt.body, &out)
			if st != tt.status {
				t.Fatalf("status %d (%+v), want %d", st, out, tt.status)
			}
			if tt.field == "" {
				return
			}
			if out.Error != jobs.CodeInvalidJob || len(out.Fields) != 1 || out.Fields[0].Field != tt.field || !strings.Contains(out.Fields[0].Message, tt.message) {
				t.Errorf("got %+v, want %s naming %s: %q", out, jobs.CodeInvalidJob, tt.field, tt.message)
			}
		})
	}
	var list struct {
		Jobs []jobs.Job `json:"jobs"`
	}
	if st := call(t, "GET", srv.URL+"/v1/jobs", "", &list); st != 200 || len(list.Jobs) != 1 {
		t.Errorf("%d, %d jobs stored, want only the known class's", st, len(list.Jobs))
	}
	// Submit from Go checks the same.
	if _, _, err := e.Submit(context.Background(), jobs.Request{Upstream: "mock", Method: "GET", Path: "/x", Priority: 2, Class: "urgent"}); err == nil ||
		!strings.Contains(err.Error(), `"urgent" is not a priority class`) {
		t.Errorf("Submit of an unknown class: %v, want the class refused", err)
	}
}

// TestJobClassReachesTheWaitingRoom: a job's request waits in the class
// it names, or else in the one its priority stands for (1 the first
// class, 2 the second, the last standing for 3 and 4). It needs the
// waiting room (the core's fair shares) to call Metrics.Fair.
func TestJobClassReachesTheWaitingRoom(t *testing.T) {
	t.Parallel()
	rec := &fairRecorder{}
	e, _ := fairEngine(t, rec, configClasses)
	var want []string
	for _, j := range []struct {
		priority int
		class    string
		want     string
	}{
		{1, "", "interactive"},
		{2, "", "batch"},
		{4, "", "batch"},
		{0, "", "batch"}, // priority 0 is 2
		{4, "interactive", "interactive"},
		{1, "batch", "batch"},
	} {
		req := jobs.Request{Upstream: "mock", Path: "/items", Priority: j.priority, Class: j.class}
		if err := req.Validate(e.Upstreams(), jobs.Limits{}); err != nil {
			t.Fatal(err)
		}
		job, _, err := e.Submit(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, e, job.ID, jobs.StateSucceeded, 10*time.Second)
		want = append(want, j.want+"/"+heed.FairAdmitted)
	}
	if got := rec.seen(); !slices.Equal(got, want) {
		t.Errorf("the waiting room saw %v, want %v", got, want)
	}
}

// TestUnknownClassFailsWhenItRuns: an engine that cannot see the classes
// takes a job of a class its upstream lacks; the job fails at its first
// run, for good, naming the class, and never reaches the API. It needs
// the core's ErrUnknownPriority.
func TestUnknownClassFailsWhenItRuns(t *testing.T) {
	t.Parallel()
	e, m := fairEngine(t, heed.NoMetrics{}, nil)
	req := jobs.Request{Upstream: "mock", Path: "/items", Class: "urgent"}
	if err := req.Validate(e.Upstreams(), jobs.Limits{}); err != nil {
		t.Fatal(err)
	}
	job, _, err := e.Submit(context.Background(), req)
	if err != nil {
		t.Fatalf("submit: %v, want it taken (the engine cannot see the classes)", err)
	}
	j := waitState(t, e, job.ID, jobs.StateFailed, 10*time.Second)
	if j.Attempts != 1 || !strings.Contains(j.Error, `class "urgent"`) || !strings.Contains(j.Error, "no such priority class") {
		t.Errorf("job %+v, want failed after 1 attempt with an error naming class \"urgent\"", j)
	}
	if n := m.Stats().Total.Requests; n != 0 {
		t.Errorf("the mock saw %d requests, want none", n)
	}
}
