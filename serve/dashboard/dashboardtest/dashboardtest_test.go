package dashboardtest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/internal/testenv"
)

// sitePages are the pages of the test site: a script that writes "ready"
// after doing something wrong, or nothing wrong.
var sitePages = map[string]string{
	"/clean": `<p>clean</p><script src="/ready.js"></script>`,
	"/wrong": `<script>document.title = "inline"</script><script src="/wrong.js"></script>`,
}

// siteScripts are the scripts of the test site.
var siteScripts = map[string]string{
	"/ready.js": `document.body.append("ready");`,
	"/wrong.js": `console.error("boom"); setTimeout(() => document.body.append("ready")); null.boom;`,
}

// site serves sitePages and siteScripts under a strict
// Content-Security-Policy, like the dashboard's, until the test ends.
func site(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; img-src data:")
		if body, ok := sitePages[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><link rel=icon href=data:,></head><body>%s</body></html>", body)
			return
		}
		if body, ok := siteScripts[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			fmt.Fprint(w, body)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// recorder is a testing.TB that notes failures instead of failing the test,
// so that a test can check that the helpers fail when they should.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	goruntime.Goexit()
}

// failed returns the failure messages that contain want.
func (r *recorder) failed(want string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.failures {
		if strings.Contains(f, want) {
			out = append(out, f)
		}
	}
	return out
}

// record runs f with a recorder on a goroutine of its own, where Fatalf can
// end it, and returns the recorder.
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// TestPageReportsProblems loads a page that blocks an inline script, logs a
// console error and throws, in one browser, and checks that each fails the
// test once.
func TestPageReportsProblems(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t) // skip here, on the test's goroutine, when missing
	url := site(t)
	r := record(t, func(tb testing.TB) {
		p := Open(tb, url+"/wrong")
		p.WaitText("ready")
		p.CheckErrors()
	})
	tests := []struct {
		name, want string
	}{
		{"ConsoleError", "the page logged console.error: boom"},
		{"Exception", "the page logged uncaught exception: Uncaught TypeError"},
		{"InlineScript", "the page logged browser security error: Executing inline script violates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.failed(tt.want); len(got) != 1 {
				t.Errorf("failures with %q: got %q, want one among %q", tt.want, got, r.failures)
			}
		})
	}
	if len(r.failures) != len(tests) {
		t.Errorf("failures: got %q, want %d", r.failures, len(tests))
	}
}

func TestWaitTextShowsWhatIsMissing(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t)
	url := site(t)
	start := time.Now()
	r := record(t, func(tb testing.TB) {
		p := Open(tb, url+"/clean")
		p.Timeout = 500 * time.Millisecond
		p.WaitText("ready", "never")
		tb.Errorf("REACHED: WaitText returned")
	})
	if got := r.failed(`the page never showed ["never"]`); len(got) != 1 || !strings.Contains(got[0], "clean") {
		t.Errorf("failures: got %q, want one naming the missing text and showing the page's", r.failures)
	}
	if len(r.failed("REACHED")) != 0 {
		t.Error("WaitText returned although a text never appeared")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("WaitText with a 500ms timeout took %v", d)
	}
}

func TestCheckPage(t *testing.T) {
	t.Parallel()
	url := site(t)
	path := filepath.Join(t.TempDir(), "shots", "clean.png")
	p := CheckPage(t, url+"/clean", path, "clean", "ready")
	if got := p.Text("p"); got != "clean" {
		t.Errorf("Text(p): got %q, want %q", got, "clean")
	}
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s is not a PNG", path)
	}
}

func TestScreenshotPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(testenv.ArtifactsEnv, dir)
	tests := []struct {
		label, want string
	}{
		{"", "TestScreenshotPath.png"},
		{"stale", "TestScreenshotPath-stale.png"},
		{"a b/c", "TestScreenshotPath-a_b_c.png"},
	}
	for _, tt := range tests {
		if got, want := ScreenshotPath(t, tt.label), filepath.Join(dir, tt.want); got != want {
			t.Errorf("ScreenshotPath(%q): got %q, want %q", tt.label, got, want)
		}
	}
}
