package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
)

// TestValidateStore: with config.Stores, Validate reports a bad Redis URL
// as it always has, the URL redacted.
func TestValidateStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *heed.Config)
		want   []string // every problem, in order; none for a valid Config
	}{
		{"Redis", func(c *heed.Config) {
			c.Store, c.FingerprintSecret = "redis://:hunter2@cache:6379/0?prefix=x:", "0123456789abcdef"
		}, nil},
		{"RedisCluster", func(c *heed.Config) {
			c.Store, c.FingerprintSecret = "redis-cluster://a:7000,b:7001", "0123456789abcdef"
		}, nil},
		{"RedisStoreNeedsSecret", func(c *heed.Config) { c.Store = "redis://:hunter2@cache:6379/0" }, []string{
			`heed: store "redis://REDACTED@cache:6379/0": fingerprint_secret is required: every process sharing the store must use the same one`}},
		{"UnknownStore", func(c *heed.Config) { c.Store, c.FingerprintSecret = "memcached://cache:11211", "0123456789abcdef" }, []string{
			`heed: store "memcached://cache:11211": redis store: invalid URL: scheme "memcached": want redis, rediss, redis-cluster or redis-sentinel (want memory or a redis://, rediss://, redis-cluster:// or redis-sentinel:// URL)`}},
		{"MalformedStore", func(c *heed.Config) { c.Store = "redis://a b:%zz@h" }, []string{
			`heed: store "(malformed URL)": redis store: invalid URL: does not parse (want memory or a redis://, rediss://, redis-cluster:// or redis-sentinel:// URL)`,
			`heed: store "(malformed URL)": fingerprint_secret is required: every process sharing the store must use the same one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := heed.Config{Stores: Stores{}, Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.example.com"}}}
			tt.change(&c)
			err := c.Validate()
			if got, want := errorLines(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if strings.Contains(errorLines(err), "hunter2") {
				t.Errorf("got %q, which contains a credential", err)
			}
		})
	}
}

// TestParsedConfigOpensRedis: a Config read by Parse that names a Redis
// store is opened by heed.New, which the root package cannot do alone.
func TestParsedConfigOpensRedis(t *testing.T) {
	t.Parallel()
	addr := testenv.Redis(t)
	c, err := Parse([]byte("store: \"redis://"+addr+"/0?prefix=configtest:\"\nfingerprint_secret: 0123456789abcdef\n"+
		"upstreams: [{name: api, base_url: \"https://api.example.com\"}]\n"), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := heed.New(c)
	if err != nil {
		t.Fatalf("heed.New: got %v, want the Redis store opened", err)
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if snap := tr.Snapshot(ctx); snap.Store != "shared" {
		t.Errorf("snapshot store %q, want shared", snap.Store)
	}
}

func TestStoresOpen(t *testing.T) {
	t.Parallel()
	s, err := Stores{}.Open("memcached://cache:11211")
	if err == nil || s != nil {
		t.Errorf("got (%v, %v), want a nil store and an error", s, err)
	}
	addr := testenv.Redis(t)
	s, err = Stores{}.Open("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, found, err := s.Cooldown(ctx, "configtest-scope"); err != nil || found {
		t.Errorf("Cooldown: got (%v, %v), want none and the Redis store to answer", found, err)
	}
}
