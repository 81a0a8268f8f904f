package jobs_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    jobs.Config
		want []string // every problem, in order
	}{
		{"SQLite", jobs.Config{Database: "sqlite://heed-jobs.db"}, nil},
		{"Postgres", jobs.Config{Database: "postgres://heed@db/heed"}, nil},
		{"PostgreSQL", jobs.Config{Database: "postgresql://heed@db/heed"}, nil},
		{"Callbacks", jobs.Config{Database: "sqlite://j.db", CallbackAllow: []string{"http://127.0.0.1:*", "https://*.example.com/heed/"},
			CallbackSecret: "0123456789abcdef"}, nil},
		{"Keys", jobs.Config{Database: "sqlite://j.db", EncryptionKey: keyA, PreviousEncryptionKeys: []string{keyB}}, nil},
		{"BadKeys", jobs.Config{Database: "sqlite://j.db", EncryptionKey: "not base64!", PreviousEncryptionKeys: []string{"c2hvcnQ=", keyB, keyB}}, []string{
			"heed: jobs.encryption_key: not standard base64; want 32 random bytes in standard base64 (openssl rand -base64 32)",
			"heed: jobs.previous_encryption_keys[0]: 5 bytes; want 32 random bytes in standard base64 (openssl rand -base64 32)",
			"heed: jobs.previous_encryption_keys[2]: the same key as jobs.previous_encryption_keys[1]"}},
		{"PreviousKeysAlone", jobs.Config{Database: "sqlite://j.db", PreviousEncryptionKeys: []string{keyA}},
			[]string{"heed: jobs.previous_encryption_keys: only open what they sealed; set jobs.encryption_key, the key that seals"}},
		{"NegativeBatchBytes", jobs.Config{Database: "sqlite://j.db", MaxBatchBytes: -1}, []string{"heed: jobs.max_batch_bytes must not be negative"}},
		{"NoDatabase", jobs.Config{}, []string{"heed: jobs.database: want sqlite://path/to/heed-jobs.db or postgres://user@host/db"}},
		{"EmptySQLitePath", jobs.Config{Database: "sqlite://"}, []string{"heed: jobs.database: want sqlite://path/to/heed-jobs.db or postgres://user@host/db"}},
		{"BadPattern", jobs.Config{Database: "sqlite://j.db", CallbackAllow: []string{"http://127.0.0.1:*", "127.0.0.1"}, CallbackSecret: "0123456789abcdef"},
			[]string{`heed: jobs.callback_allow[1]: pattern "127.0.0.1": want http:// or https:// then host[:port][/path]`}},
		{"ShortSecret", jobs.Config{Database: "sqlite://j.db", CallbackAllow: []string{"http://127.0.0.1:*"}, CallbackSecret: "short"},
			[]string{"heed: jobs.callback_secret: at least 16 bytes, required with callback_allow (callbacks are signed)"}},
		{"Negative", jobs.Config{Database: "sqlite://j.db", Workers: -1, MaxRequestBytes: -1, MaxResponseBytes: -1,
			CallbackRetryFor: -time.Second, SnoozeAfter: -1, Retention: -1, JobTimeout: -1}, []string{
			"heed: jobs.workers must not be negative", "heed: jobs.max_request_bytes must not be negative",
			"heed: jobs.max_response_bytes must not be negative", "heed: jobs.callback_retry_for must not be negative",
			"heed: jobs.snooze_after must not be negative", "heed: jobs.retention must not be negative",
			"heed: jobs.job_timeout must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if want := strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestConfigValidatePaths: each problem names its field's YAML path, for
// heed serve to find its line.
func TestConfigValidatePaths(t *testing.T) {
	t.Parallel()
	err := jobs.Config{CallbackAllow: []string{"nope"}, Workers: -1}.Validate()
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *heed.ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("got %v (%T), want a *heed.ConfigError", e, e)
		}
		paths = append(paths, ce.Path)
	}
	if got, want := strings.Join(paths, " "), "jobs.database jobs.callback_allow[0] jobs.callback_secret jobs.workers"; got != want {
		t.Errorf("got paths %s, want %s", got, want)
	}
}

// Two encryption keys, 32 bytes each in standard base64.
var (
	keyA = base64.StdEncoding.EncodeToString([]byte("key-a-key-a-key-a-key-a-key-a-ke"))
	keyB = base64.StdEncoding.EncodeToString([]byte("key-b-key-b-key-b-key-b-key-b-ke"))
)

// TestConfigKeysNameTheirPaths: a bad key's problem names its path, never
// the key.
func TestConfigKeysNameTheirPaths(t *testing.T) {
	t.Parallel()
	c := jobs.Config{Database: "sqlite://j.db", EncryptionKey: keyA[:20], PreviousEncryptionKeys: []string{keyB, keyA[:20]}}
	err := c.Validate()
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *heed.ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("got %v (%T), want a *heed.ConfigError", e, e)
		}
		paths = append(paths, ce.Path)
	}
	if got, want := strings.Join(paths, " "), "jobs.encryption_key jobs.previous_encryption_keys[1]"; got != want {
		t.Errorf("got paths %s, want %s", got, want)
	}
	if strings.Contains(err.Error(), keyA[:20]) {
		t.Errorf("%v quotes the key", err)
	}
}

func TestConfigEncryptionKeys(t *testing.T) {
	t.Parallel()
	cur, prev, err := jobs.Config{EncryptionKey: keyA, PreviousEncryptionKeys: []string{keyB}}.EncryptionKeys()
	if err != nil || string(cur) != "key-a-key-a-key-a-key-a-key-a-ke" || len(prev) != 1 || string(prev[0]) != "key-b-key-b-key-b-key-b-key-b-ke" {
		t.Errorf("got %q, %q, %v, want the two keys decoded", cur, prev, err)
	}
	if cur, prev, err := (jobs.Config{}).EncryptionKeys(); cur != nil || prev != nil || err != nil {
		t.Errorf("no key: got %q, %q, %v, want nothing", cur, prev, err)
	}
	if _, _, err := (jobs.Config{EncryptionKey: "x"}).EncryptionKeys(); err == nil {
		t.Error("a bad key decoded")
	}
}

func TestConfigCallbackPatterns(t *testing.T) {
	t.Parallel()
	pats, err := jobs.Config{CallbackAllow: []string{"http://127.0.0.1:*"}}.CallbackPatterns()
	if err != nil || len(pats) != 1 || !pats[0].Match("http://127.0.0.1:9000/done") {
		t.Errorf("got %v, %v, want one pattern matching the loopback callback", pats, err)
	}
	if _, err := (jobs.Config{CallbackAllow: []string{"ftp://x"}}).CallbackPatterns(); err == nil {
		t.Error("a bad pattern parsed")
	}
}
