package redis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
)

// blobs is the byte store a shared HTTP cache keeps its entries in; the
// Store must be one.
type blobs interface {
	GetBlob(ctx context.Context, key string) ([]byte, error)
	SetBlob(ctx context.Context, key string, value []byte, ttl time.Duration) error
	DeleteBlob(ctx context.Context, key string) error
}

var _ blobs = (*redis.Store)(nil)

// blobEnv opens Stores on one Redis (standalone or Cluster) and looks at
// its keys behind their back.
type blobEnv struct {
	open func(t *testing.T, opts redis.Options) *redis.Store
	raw  goredis.UniversalClient
}

// TestBlobs runs the blob steps against a private redis-server.
func TestBlobs(t *testing.T) {
	t.Parallel()
	addr := testenv.Redis(t)
	raw := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { _ = raw.Close() })
	runBlobs(t, blobEnv{raw: raw, open: func(t *testing.T, opts redis.Options) *redis.Store {
		s := redis.New(goredis.NewClient(&goredis.Options{Addr: addr}), opts)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}})
}

// testClusterBlobs runs the blob steps against the Cluster at addrs (see
// TestCluster).
func testClusterBlobs(t *testing.T, addrs []string, raw string) {
	inspect := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = inspect.Close() })
	runBlobs(t, blobEnv{raw: inspect, open: func(t *testing.T, opts redis.Options) *redis.Store {
		s := openCluster(t, raw, opts)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}})
}

// runBlobs runs every blob step; each keeps to a prefix of its own.
func runBlobs(t *testing.T, env blobEnv) {
	steps := []struct {
		name string
		run  func(t *testing.T, env blobEnv, prefix string)
	}{
		{"RoundTrip", blobRoundTrip},
		{"BinaryValues", blobBinaryValues},
		{"EveryKeyHasTTL", blobEveryKeyHasTTL},
		{"Expires", blobExpires},
		{"TooLarge", blobTooLarge},
		{"BadKey", blobBadKey},
		{"BadTTL", blobBadTTL},
		{"Concurrent", blobConcurrent},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			st.run(t, env, "blob:"+st.name+":")
		})
	}
}

// hexKey returns the hex SHA-256 of s, a key as a cache makes them.
func hexKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func blobRoundTrip(t *testing.T, env blobEnv, prefix string) {
	for _, pipeline := range []int{0, 1} {
		t.Run(fmt.Sprint("Pipeline", pipeline), func(t *testing.T) {
			s := env.open(t, redis.Options{Prefix: prefix, Pipeline: pipeline})
			blobRoundTripOn(t, s, env.raw, prefix, hexKey(fmt.Sprint("round trip", pipeline)))
		})
	}
}

// blobRoundTripOn sets, gets and deletes key on s, and looks at it with
// raw.
func blobRoundTripOn(t *testing.T, s *redis.Store, raw goredis.UniversalClient, prefix, key string) {
	ctx := t.Context()
	if v, err := s.GetBlob(ctx, key); v != nil || err != nil {
		t.Fatalf("GetBlob of an absent key: got %q, %v; want nil, nil", v, err)
	}
	before := s.Stats().Commands
	if err := s.SetBlob(ctx, key, []byte("hello"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetBlob(ctx, key); string(v) != "hello" || err != nil {
		t.Fatalf("GetBlob: got %q, %v; want \"hello\"", v, err)
	}
	if err := s.SetBlob(ctx, key, []byte("again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetBlob(ctx, key); string(v) != "again" || err != nil {
		t.Fatalf("GetBlob after a second SetBlob: got %q, %v; want \"again\"", v, err)
	}
	if got, err := raw.Get(ctx, prefix+"cache:"+key).Result(); got != "again" || err != nil {
		t.Fatalf("the key %scache:%s holds %q (%v), want \"again\"", prefix, key, got, err)
	}
	if err := s.DeleteBlob(ctx, key); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetBlob(ctx, key); v != nil || err != nil {
		t.Fatalf("GetBlob after DeleteBlob: got %q, %v; want nil, nil", v, err)
	}
	if err := s.DeleteBlob(ctx, key); err != nil {
		t.Fatalf("DeleteBlob of an absent key: %v, want nil", err)
	}
	if n := s.Stats().Commands - before; n != 7 {
		t.Errorf("Stats counted %d commands, want 7: every blob command goes through the store's path", n)
	}
	if err := s.SetBlob(ctx, key, []byte{}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetBlob(ctx, key); v == nil || len(v) != 0 || err != nil {
		t.Fatalf("GetBlob of an empty value: got %#v, %v; want an empty non-nil slice", v, err)
	}
}

func blobBinaryValues(t *testing.T, env blobEnv, prefix string) {
	s := env.open(t, redis.Options{Prefix: prefix})
	ctx := t.Context()
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	values := map[string][]byte{
		"nul":   {0, 0, 0},
		"crlf":  []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
		"resp":  []byte("$5\r\nhello\r\n*1\r\n-ERR x\r\n"),
		"every": every,
		"high":  bytes.Repeat([]byte{0xff, 0xfe, 0x00, '\n'}, 4096),
	}
	for name, want := range values {
		key := hexKey(name)
		if err := s.SetBlob(ctx, key, want, time.Minute); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := s.GetBlob(ctx, key)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, want)
		}
	}
}

func blobEveryKeyHasTTL(t *testing.T, env blobEnv, prefix string) {
	s := env.open(t, redis.Options{Prefix: prefix})
	ctx := t.Context()
	ttls := []time.Duration{time.Millisecond * 1500, 10 * time.Second, time.Hour, redis.MaxBlobTTL}
	for i, ttl := range ttls {
		key := hexKey(fmt.Sprint("ttl", i))
		if err := s.SetBlob(ctx, key, []byte("v"), ttl); err != nil {
			t.Fatalf("SetBlob ttl %v: %v", ttl, err)
		}
		assertPTTL(t, env.raw, prefix+"cache:"+key, ttl)
	}
	// A second SetBlob replaces the TTL too.
	key := hexKey("ttl0")
	if err := s.SetBlob(ctx, key, []byte("v"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	assertPTTL(t, env.raw, prefix+"cache:"+key, 2*time.Second)
}

// assertPTTL fails t unless key lives for more than 0 and at most ttl.
func assertPTTL(t *testing.T, raw goredis.UniversalClient, key string, ttl time.Duration) {
	t.Helper()
	got, err := raw.PTTL(t.Context(), key).Result()
	if err != nil || got <= 0 || got > ttl {
		t.Errorf("PTTL %s: got %v, %v; want above 0 and at most %v", key, got, err, ttl)
	}
}

func blobExpires(t *testing.T, env blobEnv, prefix string) {
	s := env.open(t, redis.Options{Prefix: prefix})
	ctx := t.Context()
	key := hexKey("expires")
	const ttl = 300 * time.Millisecond
	start := time.Now()
	if err := s.SetBlob(ctx, key, []byte("soon gone"), ttl); err != nil {
		t.Fatal(err)
	}
	v, err := s.GetBlob(ctx, key)
	if err != nil || v == nil && time.Since(start) < ttl {
		t.Fatalf("GetBlob right after SetBlob: got %q, %v; want the value", v, err)
	}
	for deadline := start.Add(5 * time.Second); ; {
		v, err := s.GetBlob(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			if since := time.Since(start); since < ttl-10*time.Millisecond {
				t.Fatalf("gone after %v, before its ttl of %v", since, ttl)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there %v after SetBlob with a ttl of %v", time.Since(start), ttl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func blobTooLarge(t *testing.T, env blobEnv, prefix string) {
	ctx := t.Context()
	small := env.open(t, redis.Options{Prefix: prefix, MaxBlobBytes: 16})
	key := hexKey("large")
	if err := small.SetBlob(ctx, key, make([]byte, 16), time.Minute); err != nil {
		t.Fatalf("16 bytes with MaxBlobBytes 16: %v", err)
	}
	err := small.SetBlob(ctx, key, make([]byte, 17), time.Minute)
	if !errors.Is(err, redis.ErrBlobTooLarge) {
		t.Fatalf("17 bytes with MaxBlobBytes 16: got %v, want ErrBlobTooLarge", err)
	}
	if v, _ := small.GetBlob(ctx, key); len(v) != 16 {
		t.Errorf("after a refused SetBlob the key holds %d bytes, want the 16 before", len(v))
	}
	def := env.open(t, redis.Options{Prefix: prefix})
	max := bytes.Repeat([]byte("0123456789abcdef"), redis.DefaultMaxBlobBytes/16)
	if err := def.SetBlob(ctx, key, max, time.Minute); err != nil {
		t.Fatalf("%d bytes by default: %v", len(max), err)
	}
	if v, err := def.GetBlob(ctx, key); err != nil || !bytes.Equal(v, max) {
		t.Fatalf("GetBlob of %d bytes: got %d bytes, %v", len(max), len(v), err)
	}
	err = def.SetBlob(ctx, key, append(max, 'x'), time.Minute)
	if !errors.Is(err, redis.ErrBlobTooLarge) {
		t.Fatalf("%d bytes by default: got %v, want ErrBlobTooLarge", len(max)+1, err)
	}
}

func blobBadKey(t *testing.T, env blobEnv, prefix string) {
	s := env.open(t, redis.Options{Prefix: prefix})
	ctx := t.Context()
	long := strings.Repeat("a", 128)
	if err := s.SetBlob(ctx, long, []byte("v"), time.Minute); err != nil {
		t.Fatalf("a key of 128 hex digits: %v", err)
	}
	bad := map[string]string{
		"":                          "empty",
		long + "b":                  "129 bytes",
		"xyz":                       "not hex",
		"ab:cd":                     "a colon",
		"{ab}":                      "a hash tag",
		"ab\x00cd":                  "NUL",
		"ab cd":                     "a space",
		hexKey("k")[:63] + "\u00e9": "not ASCII",
	}
	for key, why := range bad {
		errs := []error{
			s.SetBlob(ctx, key, []byte("v"), time.Minute),
			s.DeleteBlob(ctx, key),
		}
		v, err := s.GetBlob(ctx, key)
		if v != nil {
			t.Errorf("GetBlob(%q) (%s): got %q, want nil", key, why, v)
		}
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "blob key") {
				t.Errorf("key %q (%s), call %d: got %v, want store.ErrInvalid naming the blob key", key, why, i, err)
			}
		}
	}
}

func blobBadTTL(t *testing.T, env blobEnv, prefix string) {
	s := env.open(t, redis.Options{Prefix: prefix})
	ctx := t.Context()
	key := hexKey("bad ttl")
	for _, ttl := range []time.Duration{0, -time.Second, redis.MaxBlobTTL + time.Nanosecond, 30 * 24 * time.Hour} {
		err := s.SetBlob(ctx, key, []byte("v"), ttl)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "ttl") {
			t.Errorf("ttl %v: got %v, want store.ErrInvalid naming the ttl", ttl, err)
		}
	}
	if v, err := s.GetBlob(ctx, key); v != nil || err != nil {
		t.Errorf("after refused SetBlobs: got %q, %v; want nil, nil", v, err)
	}
	// Below a millisecond rounds up to one, which Redis takes.
	if err := s.SetBlob(ctx, key, []byte("v"), time.Microsecond); err != nil {
		t.Errorf("ttl 1µs: %v", err)
	}
}

func blobConcurrent(t *testing.T, env blobEnv, prefix string) {
	s := env.open(t, redis.Options{Prefix: prefix})
	ctx := t.Context()
	const workers, rounds = 16, 40
	shared := hexKey("shared")
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			mine := hexKey(fmt.Sprint("worker", w))
			for r := range rounds {
				want := fmt.Appendf(nil, "%d/%d\x00\r\n", w, r)
				if err := s.SetBlob(ctx, mine, want, time.Minute); err != nil {
					t.Error(err)
					return
				}
				got, err := s.GetBlob(ctx, mine)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("worker %d round %d: got %q, %v; want %q", w, r, got, err, want)
					return
				}
				if err := s.SetBlob(ctx, shared, want, time.Minute); err != nil {
					t.Error(err)
					return
				}
				// Others set and delete it meanwhile: absent, or some
				// worker's whole value.
				if got, err := s.GetBlob(ctx, shared); err != nil || got != nil && !bytes.HasSuffix(got, []byte("\x00\r\n")) {
					t.Errorf("shared key: got %q, %v", got, err)
					return
				}
				if r%2 == 1 {
					if err := s.DeleteBlob(ctx, shared); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestBlobUnavailable: a Redis that cannot be reached fails every blob
// operation with store.ErrUnavailable; an error Redis answered does not,
// nor does a closed store.
func TestBlobUnavailable(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisServer(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	s := redis.New(client, redis.Options{Prefix: "down:"})
	ctx := t.Context()
	key := hexKey("down")
	if err := client.RPush(ctx, "down:cache:"+key, "a list").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetBlob(ctx, key)
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetBlob of a list: got %v, want Redis's WRONGTYPE, not store.ErrUnavailable", err)
	}
	srv.Stop(t)
	_, err = s.GetBlob(ctx, key)
	errs := []error{err, s.SetBlob(ctx, key, []byte("v"), time.Minute), s.DeleteBlob(ctx, key)}
	for i, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("call %d with Redis stopped: got %v, want store.ErrUnavailable", i, err)
		}
	}
	_ = s.Close()
	if err := s.SetBlob(ctx, key, []byte("v"), time.Minute); !errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("SetBlob after Close: got %v, want store.ErrClosed only", err)
	}
}
