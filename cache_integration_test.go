package heed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// These tests run the cache and coalescing over loopback against heed mock's
// cacheable resources (GET /resources/{name}: ETag, Last-Modified, Vary,
// Cache-Control; 304s free under GitHub's dialect).

// resourceBody is what the mock's resources say of themselves.
type resourceBody struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	CredID  string `json:"cred_id"`
}

// fetchResource GETs url with token through c and returns the status, the
// decoded body, Heed-Cache and the raw body.
func fetchResource(t *testing.T, c *http.Client, url, token string) (int, resourceBody, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", url, err)
	}
	var b resourceBody
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("GET %s: body %q: %v", url, raw, err)
		}
	}
	return resp.StatusCode, b, resp.Header.Get(heed.CacheHeader), raw
}

func TestCacheOverLoopback(t *testing.T) {
	t.Parallel()
	t.Run("CredentialsApart", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{Dialect: mockapi.DialectGitHub})
		c := newClient(t, heed.Upstream{Name: "gh", BaseURL: url, Vendor: "github", Cache: heed.CachePolicy{Enabled: true}})
		seen := map[string]resourceBody{}
		for _, tok := range []string{"alice", "bob", "alice", "bob"} {
			status, b, cache, _ := fetchResource(t, c, url+"/resources/repo", tok)
			want := heed.CacheMiss
			if prev, ok := seen[tok]; ok {
				want = heed.CacheHit
				if b != prev {
					t.Errorf("%s's second answer %+v, want its first %+v", tok, b, prev)
				}
			}
			if status != 200 || cache != want || b.CredID != mockapi.CredID(tok) {
				t.Errorf("%s: %d, Heed-Cache %q, cred %q; want 200, %q, %q", tok, status, cache, b.CredID, want, mockapi.CredID(tok))
			}
			seen[tok] = b
		}
		if st := m.AwaitResource("repo", 2, 5*time.Second); st.OK != 2 || st.Credentials[mockapi.CredID("alice")].OK != 1 {
			t.Errorf("the mock answered %+v, want one 200 per credential", st.ResourceCounts)
		}
	})
	t.Run("RevalidatedBody", func(t *testing.T) {
		t.Parallel()
		zero := time.Duration(0)
		m, url := newMock(t, mockapi.Config{Dialect: mockapi.DialectGitHub, Cache: mockapi.Cache{MaxAge: &zero}})
		c := newClient(t, heed.Upstream{Name: "gh", BaseURL: url, Vendor: "github", Cache: heed.CachePolicy{Enabled: true}})
		_, first, _, raw1 := fetchResource(t, c, url+"/resources/repo", "alice")
		status, again, cache, raw2 := fetchResource(t, c, url+"/resources/repo", "alice")
		if status != 200 || cache != heed.CacheRevalidated || string(raw1) != string(raw2) || again != first {
			t.Errorf("second GET: %d, Heed-Cache %q, body %q; want 200, revalidated, the stored %q", status, cache, raw2, raw1)
		}
		if _, err := m.BumpResource("repo"); err != nil {
			t.Fatal(err)
		}
		if _, b, cache, _ := fetchResource(t, c, url+"/resources/repo", "alice"); b.Version != first.Version+1 || cache != heed.CacheMiss {
			t.Errorf("after a new version: version %d, Heed-Cache %q; want %d, miss", b.Version, cache, first.Version+1)
		}
		if st := m.AwaitResource("repo", 3, 5*time.Second); st.OK != 2 || st.NotModified != 1 {
			t.Errorf("the mock answered %+v, want 2 200s and one 304", st.ResourceCounts)
		}
	})
	// Polling an unchanged resource 100 times spends at most one unit of the
	// request limit: the first, full answer. The limit of 2 an hour has
	// room for one request more after the polls, and no second.
	t.Run("Polling", func(t *testing.T) {
		t.Parallel()
		zero := time.Duration(0)
		m, url := newMock(t, mockapi.Config{Dialect: mockapi.DialectGitHub, Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 1000, Per: time.Hour},
			Cache: mockapi.Cache{MaxAge: &zero}})
		c := newClient(t, heed.Upstream{Name: "gh", BaseURL: url, Vendor: "github", OnLimit: heed.OnLimitFail, MaxWait: time.Second,
			Limits: []heed.Limit{{Requests: 2, Per: time.Hour, Burst: 2}}, Cache: heed.CachePolicy{Enabled: true}})
		var remaining []string
		for i := range 100 {
			req, _ := http.NewRequest(http.MethodGet, url+"/resources/repo", nil)
			req.Header.Set("Authorization", "Bearer alice")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("poll %d: %d, want 200", i, resp.StatusCode)
			}
			remaining = append(remaining, resp.Header.Get("X-Ratelimit-Remaining"))
		}
		if status, _, _, _ := fetchResource(t, c, url+"/resources/other", "alice"); status != 200 {
			t.Errorf("the request after the polls: %d, want 200 (one unit left)", status)
		}
		if status, _, _, _ := fetchResource(t, c, url+"/resources/third", "alice"); status != 429 {
			t.Errorf("the second request after the polls: %d, want heed's 429 (the limit spent)", status)
		}
		if first, last := remaining[0], remaining[99]; first != "999" || last != "999" {
			t.Errorf("GitHub's remaining after the first poll %s, after the last %s; want 999 both", first, last)
		}
		if st := m.AwaitResource("repo", 100, 5*time.Second); st.OK != 1 || st.NotModified != 99 {
			t.Errorf("the mock answered %+v, want one 200 and 99 304s", st.ResourceCounts)
		}
	})
}

func TestCoalescingOverLoopback(t *testing.T) {
	t.Parallel()
	const callers = 50
	// The mock answers after 300 ms, so that every caller has joined.
	t.Run("FullBodies", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{Latency: 300 * time.Millisecond})
		if _, err := m.SetResourceSize("big", 256<<10); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, heed.Upstream{Name: "api", BaseURL: url, Coalesce: true})
		bodies := make([][]byte, callers)
		caches := make([]string, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { _, _, caches[i], bodies[i] = fetchResource(t, c, url+"/resources/big", "alice") })
		}
		wg.Wait()
		coalesced := 0
		for i := range callers {
			if string(bodies[i]) != string(bodies[0]) || len(bodies[i]) != 256<<10 {
				t.Fatalf("caller %d read %d bytes unlike caller 0's %d", i, len(bodies[i]), len(bodies[0]))
			}
			if caches[i] == heed.CacheCoalesced {
				coalesced++
			}
		}
		if st := m.AwaitResource("big", 1, 5*time.Second); st.OK != 1 || coalesced != callers-1 {
			t.Errorf("the mock answered %d times, %d callers coalesced; want 1 and %d", st.OK, coalesced, callers-1)
		}
	})
	t.Run("ChunkByChunkAndCancellation", func(t *testing.T) {
		t.Parallel()
		const chunks = 4
		m, url := newMock(t, mockapi.Config{Latency: 300 * time.Millisecond})
		if _, err := m.SetResourceSize("stream", 4*1024); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, heed.Upstream{Name: "api", BaseURL: url, Coalesce: true})
		target := fmt.Sprintf("%s/resources/stream?chunks=%d&gate=1", url, chunks)
		// Each caller reads the body a chunk at a time and reports each chunk;
		// callers 1..49 give up: half before the answer, half after chunk 2.
		type report struct {
			caller, chunk int
			err           error
		}
		reports := make(chan report, callers*(chunks+1))
		full := make(chan []byte, 1)
		ctx0, cancelEarly := context.WithCancel(context.Background())
		defer cancelEarly()
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				ctx := context.Background()
				if i > 0 && i%2 == 1 {
					ctx = ctx0
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
				req.Header.Set("Authorization", "Bearer alice")
				resp, err := c.Do(req)
				if err != nil {
					reports <- report{caller: i, err: err}
					return
				}
				defer resp.Body.Close()
				var got []byte
				buf := make([]byte, 1024)
				for k := 1; k <= chunks; k++ {
					n, err := io.ReadFull(resp.Body, buf)
					got = append(got, buf[:n]...)
					if err != nil {
						reports <- report{caller: i, chunk: k, err: err}
						return
					}
					reports <- report{caller: i, chunk: k}
					if i > 0 && k == 2 {
						return // closes its body mid-stream
					}
				}
				if i == 0 {
					full <- got
				}
			})
		}
		time.Sleep(100 * time.Millisecond) // every caller has joined; the mock has not answered
		cancelEarly()
		// Chunk k reaches every caller still reading before chunk k+1 leaves the mock.
		readers := callers / 2 // caller 0 and the 24 even ones that read on
		for k := 1; k <= chunks; k++ {
			want := readers
			if k > 2 {
				want = 1
			}
			for got := 0; got < want; {
				select {
				case r := <-reports:
					switch {
					case r.err != nil && r.caller%2 == 1: // gave up before the answer: expected
					case r.err != nil:
						t.Fatalf("caller %d, chunk %d: %v", r.caller, r.chunk, r.err)
					case r.chunk != k:
						t.Fatalf("caller %d read chunk %d while chunk %d was the latest sent", r.caller, r.chunk, k)
					default:
						got++
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("chunk %d reached %d callers, want %d", k, got, want)
				}
			}
			if k == chunks {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := m.AwaitGate(ctx, 1)
			cancel()
			if err != nil {
				t.Fatalf("the stream is not held after chunk %d: %v", k, err)
			}
			if n := m.ReleaseGate(1); n != 1 {
				t.Fatalf("%d streams at the gate, want the one shared", n)
			}
		}
		wg.Wait()
		if got := <-full; len(got) != 4*1024 {
			t.Errorf("the caller that stayed read %d bytes, want 4096", len(got))
		}
		if st := m.AwaitResource("stream", 1, 5*time.Second); st.OK != 1 || st.Cancelled != 0 {
			t.Errorf("the mock: %+v; want one answer, not cancelled", st.ResourceCounts)
		}
	})
}

// TestSharedCacheOnRedis: two Transports stand for two processes of a fleet
// on one private redis-server: a response the first cached is revalidated,
// not fetched again, by the second; every key the cache wrote has a TTL;
// no credential appears in any key or value.
func TestSharedCacheOnRedis(t *testing.T) {
	t.Parallel()
	addr := testenv.Redis(t)
	zero := time.Duration(0)
	m, url := newMock(t, mockapi.Config{Dialect: mockapi.DialectGitHub, Cache: mockapi.Cache{MaxAge: &zero}})
	const token = "ghp_SharedCacheSecretToken123456"
	process := func() *http.Client {
		tr, err := heed.New(heed.Config{
			Store: "redis://" + addr + "/0?prefix=cachetest:", Stores: config.Stores{}, FingerprintSecret: "a secret every process shares",
			Upstreams: []heed.Upstream{{Name: "gh", BaseURL: url, Vendor: "github", Cache: heed.CachePolicy{Enabled: true, Shared: true}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return &http.Client{Transport: tr}
	}
	a, b := process(), process()
	_, first, cacheA, raw := fetchResource(t, a, url+"/resources/repo", token)
	// The store is written as the first body ends: wait until it is there.
	deadline := time.Now().Add(5 * time.Second)
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	for {
		keys, _ := rdb.Keys(ctx, "cachetest:cache:*").Result()
		if len(keys) >= 2 || time.Now().After(deadline) { // the Vary index and the variant
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	status, again, cacheB, raw2 := fetchResource(t, b, url+"/resources/repo", token)
	if cacheA != heed.CacheMiss || status != 200 || cacheB != heed.CacheRevalidated || again != first || string(raw) != string(raw2) {
		t.Errorf("A: %q; B: %d, %q, %q; want miss, then 200 revalidated with A's body %q", cacheA, status, cacheB, raw2, raw)
	}
	if st := m.AwaitResource("repo", 2, 5*time.Second); st.OK != 1 || st.NotModified != 1 {
		t.Errorf("the mock answered %+v, want one 200 and one 304", st.ResourceCounts)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	cacheKeys := 0
	for _, k := range keys {
		if strings.Contains(k, token) || strings.Contains(k, "alice") {
			t.Errorf("key %q holds the credential", k)
		}
		if strings.HasPrefix(k, "cachetest:cache:") {
			cacheKeys++
			if ttl, err := rdb.PTTL(ctx, k).Result(); err != nil || ttl <= 0 {
				t.Errorf("cache key %q: PTTL %v %v, want a TTL", k, ttl, err)
			}
		}
		if v := dumpValue(ctx, t, rdb, k); strings.Contains(v, token) {
			t.Errorf("the value of %q holds the credential", k)
		}
	}
	if cacheKeys < 2 {
		t.Errorf("%d cache keys, want the index and the entry", cacheKeys)
	}
}

// dumpValue returns everything a key holds, whatever its type, as text.
func dumpValue(ctx context.Context, t *testing.T, rdb *goredis.Client, key string) string {
	t.Helper()
	kind, err := rdb.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	switch kind {
	case "string":
		v, err = rdb.Get(ctx, key).Result()
	case "hash":
		v, err = rdb.HGetAll(ctx, key).Result()
	case "zset":
		v, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
	case "set":
		v, err = rdb.SMembers(ctx, key).Result()
	case "list":
		v, err = rdb.LRange(ctx, key, 0, -1).Result()
	default:
		v, err = rdb.Dump(ctx, key).Result()
	}
	if err != nil && !errors.Is(err, goredis.Nil) {
		t.Fatalf("reading %q (%s): %v", key, kind, err)
	}
	return fmt.Sprint(v)
}
