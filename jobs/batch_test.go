package jobs_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// repeated reads unit n times, without holding more than one unit.
type repeated struct {
	unit []byte
	n    int64 // units left
	off  int   // in the current unit
}

func (r *repeated) Read(p []byte) (int, error) {
	read := 0
	for read < len(p) && r.n > 0 {
		c := copy(p[read:], r.unit[r.off:])
		read, r.off = read+c, r.off+c
		if r.off == len(r.unit) {
			r.off, r.n = 0, r.n-1
		}
	}
	if read == 0 && r.n == 0 {
		return 0, io.EOF
	}
	return read, nil
}

// counting counts the bytes read from r.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// batchOf is a batch of n copies of job, as a stream.
func batchOf(job string, n int64) io.Reader {
	return io.MultiReader(strings.NewReader(`{"jobs":[`), &repeated{unit: []byte(job + ","), n: n - 1},
		strings.NewReader(job+`]}`))
}

// postBatch posts body (of length size, or -1 for unknown) to h's batch
// endpoint in-process and returns the answer and the bytes h read.
func postBatch(t *testing.T, h http.Handler, body io.Reader, size int64) (*httptest.ResponseRecorder, int64) {
	t.Helper()
	c := &counting{r: body}
	req := httptest.NewRequest("POST", "/v1/jobs:batch", c)
	req.ContentLength = size
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w, c.n
}

// batchAnswer is the body of a batch's refusal.
type batchAnswer struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Fields  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields"`
}

func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder) batchAnswer {
	t.Helper()
	var a batchAnswer
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q, want application/json; body %s", ct, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("%v; body %s", err, w.Body)
	}
	return a
}

// TestBatchBounds: a batch is read as a stream within max_batch_bytes; a
// longer one is refused with 413 having read at most the bound (nothing,
// when its length says so at once), and a job longer than a job may be is
// refused as it is read; problems are listed for the first 100 jobs.
func TestBatchBounds(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	e := newEngine(t, m, heed.Upstream{}, 1)
	const limit = 64 << 10
	small := e.Handler(jobs.APIOptions{MaxBatchBytes: limit, MaxBatch: 50, Limits: jobs.Limits{MaxBody: 1000}})
	large := e.Handler(jobs.APIOptions{MaxBatchBytes: 1 << 20, Limits: jobs.Limits{MaxBody: 1000}}) // a job: 132 KiB of JSON
	bad := `{"upstream":"nope","path":"/x"}`
	good := `{"upstream":"mock","path":"/x"}`
	tests := []struct {
		name     string
		large    bool // the large batch bound, 1 MiB, and 1000 jobs
		body     func() io.Reader
		size     int64 // -1: unknown (chunked)
		status   int
		code     string
		fields   int    // how many fields the answer names; -1: any
		field    string // the first field named, when fields > 0
		maxRead  int64  // the most the handler may read
		contains string // in the message
	}{
		{"OverByLength", false, func() io.Reader { return batchOf(bad, 100_000) }, 3_300_000, 413, jobs.CodeTooLarge, 0, "", 0, "at most 65536 bytes"},
		{"OverChunked", false, func() io.Reader { return batchOf(bad, 100_000) }, -1, 413, jobs.CodeTooLarge, -1, "", limit + 1, "at most 65536 bytes"},
		{"OverChunkedValid", false, func() io.Reader { return batchOf(good, 100_000) }, -1, 413, jobs.CodeTooLarge, -1, "", limit + 1, "jobs.max_batch_bytes"},
		{"ProblemsListedForTheFirst100", true, func() io.Reader { return batchOf(bad, 150) }, -1, 400, jobs.CodeInvalidJob, 101, "jobs[0].upstream", 1 << 20, "50 more jobs have problems"},
		{"TooManyJobs", false, func() io.Reader { return batchOf(good, 60) }, -1, 400, jobs.CodeInvalidJob, 1, "jobs", limit, "60 jobs; at most 50"},
		{"JobTooLarge", true, func() io.Reader {
			return strings.NewReader(`{"jobs":[{"upstream":"mock","path":"/x","body":"` + strings.Repeat("a", 200<<10) + `"}]}`)
		}, -1, 413, jobs.CodeTooLarge, -1, "", 2 * 132 << 10, "jobs[0] is over"},
		{"SpaceBetweenJobs", true, func() io.Reader {
			return strings.NewReader(`{"jobs":[` + good + strings.Repeat(" ", 200<<10) + "," + good + `]}`)
		}, -1, 413, jobs.CodeTooLarge, -1, "", 2 * 132 << 10, "bytes of JSON without a whole job"},
		{"JobsTwice", false, func() io.Reader { return strings.NewReader(`{"jobs":[` + good + `],"jobs":[` + good + `]}`) }, -1, 400, jobs.CodeInvalidJob, 1, "jobs", limit, "twice"},
		{"UnknownField", false, func() io.Reader { return strings.NewReader(`{"jobs":[` + good + `],"more":1}`) }, -1, 400, jobs.CodeInvalidJob, 1, "more", limit, "unknown field"},
		{"NotAnObject", false, func() io.Reader { return strings.NewReader(`[` + good + `]`) }, -1, 400, jobs.CodeInvalidJob, 1, "(body)", limit, "want a JSON object"},
		{"JobsNotAnArray", false, func() io.Reader { return strings.NewReader(`{"jobs":` + good + `}`) }, -1, 400, jobs.CodeInvalidJob, 1, "jobs", limit, "array"},
		{"MoreAfter", false, func() io.Reader { return strings.NewReader(`{"jobs":[` + good + `]} {}`) }, -1, 400, jobs.CodeInvalidJob, 1, "(body)", limit, "found more"},
		{"Truncated", false, func() io.Reader { return strings.NewReader(`{"jobs":[` + good + `,`) }, -1, 400, jobs.CodeInvalidJob, 1, "(body)", limit, ""},
		{"Malformed", false, func() io.Reader { return strings.NewReader(`{"jobs":[` + good + `,{"upstream"}]}`) }, -1, 400, jobs.CodeInvalidJob, 1, "(body)", limit, "malformed"},
		{"Empty", false, func() io.Reader { return strings.NewReader(`{}`) }, -1, 400, jobs.CodeInvalidJob, 1, "jobs", limit, "non-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := small
			if tt.large {
				h = large
			}
			w, read := postBatch(t, h, tt.body(), tt.size)
			a := decodeAnswer(t, w)
			if w.Code != tt.status || a.Error != tt.code || !strings.Contains(a.Message, tt.contains) {
				t.Errorf("got %d %s %q, want %d %s saying %q", w.Code, a.Error, a.Message, tt.status, tt.code, tt.contains)
			}
			if tt.fields >= 0 && len(a.Fields) != tt.fields {
				t.Errorf("got %d fields, want %d", len(a.Fields), tt.fields)
			}
			if tt.fields > 0 && len(a.Fields) > 0 && a.Fields[0].Field != tt.field {
				t.Errorf("got field %q first, want %q", a.Fields[0].Field, tt.field)
			}
			if read > tt.maxRead {
				t.Errorf("read %d bytes, want at most %d", read, tt.maxRead)
			}
		})
	}
}

// TestBatchMemory: a 200 MB batch of invalid jobs is refused with 413
// having read at most max_batch_bytes (16 MiB by default), and the heap
// in use while it is read grows by less than the bound. Not parallel: it
// measures the process's heap.
func TestBatchMemory(t *testing.T) {
	m, _ := mockapi.New(mockapi.Config{})
	e := newEngine(t, m, heed.Upstream{}, 1)
	h := e.Handler(jobs.APIOptions{})
	const bound = 16 << 20
	job := `{"upstream":"nope","path":"/x","headers":{"X-Pad":"` + strings.Repeat("p", 200) + `"}}`
	n := int64(200_000_000/(len(job)+1)) + 1
	size := n*int64(len(job)+1) + int64(len(`{"jobs":[]}`)) - 1
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	resetPeakRSS()
	peak := sampleHeap()
	w, read := postBatch(t, h, batchOf(job, n), -1)
	heapPeak := peak()
	a := decodeAnswer(t, w)
	if w.Code != http.StatusRequestEntityTooLarge || a.Error != jobs.CodeTooLarge {
		t.Fatalf("got %d %+v, want 413 too_large", w.Code, a)
	}
	if read > bound+1 {
		t.Errorf("read %d bytes of the %d, want at most %d", read, size, bound+1)
	}
	growth := int64(heapPeak) - int64(before.HeapInuse)
	t.Logf("a %d MB batch: read %d bytes; heap in use %.1f MB before, %.1f MB at the most (+%.1f MB); peak RSS %s",
		size/1e6, read, float64(before.HeapInuse)/1e6, float64(heapPeak)/1e6, float64(growth)/1e6, peakRSS())
	if growth > bound {
		t.Errorf("the heap in use grew by %d bytes, want less than the bound, %d", growth, bound)
	}
}

// sampleHeap samples the heap in use every millisecond until the returned
// function is called, which returns the most seen.
func sampleHeap() func() uint64 {
	var mu sync.Mutex
	var most uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			most = max(most, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

// resetPeakRSS resets the process's peak resident set size (Linux), so
// that peakRSS reports the peak from now.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns the process's peak resident set size (VmHWM), or
// "unknown" off Linux.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"))
			return strconv.FormatFloat(float64(kb)/1e3, 'f', 1, 64) + " MB"
		}
	}
	return "unknown"
}
