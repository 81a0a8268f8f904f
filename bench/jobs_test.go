package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
)

// jobsBackends are the databases the job benchmarks run on: a SQLite file
// and a PostgreSQL database of the benchmark's own.
var jobsBackends = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "jobs.db") }},
	{"postgres", func(b *testing.B) string { return testenv.Postgres(b) }},
}

// jobsEngine opens an engine on dsn over a heed Transport to url (no limit
// reached), started when start is set.
func jobsEngine(b *testing.B, dsn, url string, start bool) (*jobs.Engine, *heed.Transport) {
	b.Helper()
	off := false
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: url, Adaptive: &off,
		Limits: []heed.Limit{{Requests: 1_000_000, Per: time.Second}}}}})
	if err != nil {
		b.Fatal(err)
	}
	e, err := jobs.Open(context.Background(), jobs.Options{Database: dsn, Transport: tr, Upstreams: map[string]string{"api": url}, Workers: 4})
	if err != nil {
		b.Fatal(err)
	}
	if start {
		if err := e.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
		_ = tr.Close()
	})
	return e, tr
}

// BenchmarkJobsBatchAccept measures jobs accepted per second through
// POST /v1/jobs:batch (100 jobs a batch, stored in one transaction), with
// no worker running, on each database.
func BenchmarkJobsBatchAccept(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(up.Close)
	var batch strings.Builder
	batch.WriteString(`{"jobs":[`)
	for i := range 100 {
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, `{"upstream":"api","method":"POST","path":"/items/%d","body":"{\"n\":%d}","headers":{"Authorization":"Bearer tok"}}`, i, i)
	}
	batch.WriteString(`]}`)
	body := batch.String()
	for _, be := range jobsBackends {
		b.Run("db="+be.name, func(b *testing.B) {
			e, _ := jobsEngine(b, be.dsn(b), up.URL, false)
			api := httptest.NewServer(e.Handler(jobs.APIOptions{}))
			b.Cleanup(api.Close)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				resp, err := http.Post(api.URL+"/v1/jobs:batch", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("batch: %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkJobsEndToEnd measures the wall time per job from submission to
// success with 4 workers against an upstream that answers at once, and,
// in the same run, the same requests sent directly through the Transport
// by 4 goroutines: the job's overhead is the difference.
func BenchmarkJobsEndToEnd(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) }))
	b.Cleanup(up.Close)
	b.Run("path=direct", func(b *testing.B) {
		_, tr := jobsEngine(b, "sqlite://"+filepath.Join(b.TempDir(), "jobs.db"), up.URL, false)
		client := &http.Client{Transport: tr}
		b.SetParallelism(2) // 2 cores × 2 = 4 goroutines, as the 4 workers
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(up.URL + "/items")
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
	for _, be := range jobsBackends {
		b.Run("path=job/db="+be.name, func(b *testing.B) {
			e, _ := jobsEngine(b, be.dsn(b), up.URL, true)
			ctx := context.Background()
			reqs := make([]jobs.Request, 0, 100)
			var ids []int64
			b.ResetTimer()
			for n := 0; n < b.N; n += len(reqs) {
				reqs = reqs[:0]
				for range min(100, b.N-n) {
					reqs = append(reqs, jobs.Request{Upstream: "api", Method: "GET", Path: "/items", Priority: 2})
				}
				js, _, err := e.SubmitMany(ctx, reqs)
				if err != nil {
					b.Fatal(err)
				}
				for _, j := range js {
					ids = append(ids, j.ID)
				}
			}
			for { // every job done: one count query every 10ms, not one poll per job
				counts, err := e.Counts(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if counts[jobs.StateSucceeded] >= len(ids) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
