package jobs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// These tests run jobs whose request is a GET of one of heed mock's
// cacheable resources through a Transport with a cache: a job can be
// answered from it.

// cachingEngine starts an engine over a Transport whose upstream mock,
// heed mock under GitHub's dialect with cache, has a cache; it returns the
// engine, the mock, a client over the same Transport and the mock's URL.
func cachingEngine(t *testing.T, cache mockapi.Cache) (*jobs.Engine, *mockapi.Server, *http.Client, string) {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{
		{Name: "mock", BaseURL: srv.URL, Vendor: "github", Cache: heed.CachePolicy{Enabled: true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() }) // after the engine stops: cleanups run last first
	e := startEngine(t, jobs.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"),
		Transport: tr, Upstreams: map[string]string{"mock": srv.URL}, SnoozeAfter: 200 * time.Millisecond})
	return e, m, &http.Client{Transport: tr}, srv.URL
}

// runGet submits a job GETting path with a bearer token and returns it
// once it succeeded, with its response.
func runGet(t *testing.T, e *jobs.Engine, path, token string) jobs.Job {
	t.Helper()
	req := jobs.Request{Upstream: "mock", Path: path, Headers: map[string]jobs.StringList{"Authorization": {"Bearer " + token}}}
	j, _, err := e.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	done := waitState(t, e, j.ID, jobs.StateSucceeded, 10*time.Second)
	if done.Response == nil || done.Response.Body == nil || done.Response.Truncated {
		t.Fatalf("job %d: response %+v, want a whole text body", j.ID, done.Response)
	}
	return done
}

// cacheOf is a job's recorded Heed-Cache values.
func cacheOf(j jobs.Job) []string { return j.Response.Headers[heed.CacheHeader] }

func TestJobsFromTheCache(t *testing.T) {
	t.Parallel()
	// A GET made by the library fills the cache; a job of the same GET is
	// answered from it.
	t.Run("AfterALibraryGet", func(t *testing.T) {
		t.Parallel()
		e, m, c, url := cachingEngine(t, mockapi.Cache{})
		req, _ := http.NewRequest(http.MethodGet, url+"/resources/x", nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Header.Get(heed.CacheHeader) != heed.CacheMiss {
			t.Fatalf("the library's GET: %d, Heed-Cache %q, %v; want 200, miss", resp.StatusCode, resp.Header.Get(heed.CacheHeader), err)
		}
		j := runGet(t, e, "/resources/x", "tok")
		if got := cacheOf(j); j.Response.Status != 200 || len(got) != 1 || got[0] != heed.CacheHit || *j.Response.Body != string(raw) {
			t.Errorf("the job: %d, Heed-Cache %q, body %q; want 200, hit, the library's %q", j.Response.Status, got, *j.Response.Body, raw)
		}
		if st := m.AwaitResource("x", 1, 5*time.Second); st.OK != 1 || st.NotModified != 0 {
			t.Errorf("the mock answered %+v, want one 200", st.ResourceCounts)
		}
	})
	t.Run("AfterAJob", func(t *testing.T) {
		t.Parallel()
		e, m, _, _ := cachingEngine(t, mockapi.Cache{})
		first := runGet(t, e, "/resources/x", "tok")
		second := runGet(t, e, "/resources/x", "tok")
		if got := cacheOf(first); len(got) != 1 || got[0] != heed.CacheMiss {
			t.Errorf("the first job: Heed-Cache %q, want miss", got)
		}
		if got := cacheOf(second); second.Response.Status != 200 || len(got) != 1 || got[0] != heed.CacheHit || *second.Response.Body != *first.Response.Body {
			t.Errorf("the second job: %d, Heed-Cache %q, body %q; want 200, hit, the first's %q", second.Response.Status, got, *second.Response.Body, *first.Response.Body)
		}
		other := runGet(t, e, "/resources/x", "other")
		if got := cacheOf(other); len(got) != 1 || got[0] != heed.CacheMiss || *other.Response.Body == *first.Response.Body {
			t.Errorf("another credential's job: Heed-Cache %q, body %q; want miss, its own", got, *other.Response.Body)
		}
		if st := m.AwaitResource("x", 2, 5*time.Second); st.OK != 2 || st.Credentials[mockapi.CredID("tok")].OK != 1 {
			t.Errorf("the mock answered %+v, want one 200 per credential", st.ResourceCounts)
		}
	})
	t.Run("Revalidated", func(t *testing.T) {
		t.Parallel()
		zero := time.Duration(0)
		e, m, _, _ := cachingEngine(t, mockapi.Cache{MaxAge: &zero})
		first := runGet(t, e, "/resources/x", "tok")
		second := runGet(t, e, "/resources/x", "tok")
		if got := cacheOf(second); second.Response.Status != 200 || len(got) != 1 || got[0] != heed.CacheRevalidated || *second.Response.Body != *first.Response.Body {
			t.Errorf("the second job: %d, Heed-Cache %q, body %q; want 200, revalidated, the first's %q", second.Response.Status, got, *second.Response.Body, *first.Response.Body)
		}
		if st := m.AwaitResource("x", 2, 5*time.Second); st.OK != 1 || st.NotModified != 1 {
			t.Errorf("the mock answered %+v, want one 200 and one 304", st.ResourceCounts)
		}
	})
}
