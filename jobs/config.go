package jobs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/heedhq/heed"
)

// Config is the jobs section of heed serve's configuration (serve.Config's
// Jobs, under the key jobs): where the jobs are kept, the callbacks allowed
// and the engine's bounds. Its zero fields mean their documented defaults,
// but Database is required. heed serve reads it; Validate reports what
// cannot work.
type Config struct {
	// Database holds the jobs: sqlite://path/to/heed-jobs.db (one
	// machine), or postgres://user@host/db, where several heed serve
	// processes work one queue.
	Database string `yaml:"database"`
	// CallbackAllow lists the URL patterns a job's callback_url may match:
	// scheme://host:port with * wildcards in the host and port
	// ("http://127.0.0.1:9000", "https://*.example.com:443"), optionally
	// followed by a path prefix. None means no callbacks. It is an SSRF
	// boundary: whoever may submit jobs can make heed POST to any URL it
	// matches, so name the receivers' hosts and ports, never a whole
	// network or a wildcard port.
	CallbackAllow []string `yaml:"callback_allow"`
	// CallbackSecret signs callbacks (Heed-Signature); at least 16 bytes;
	// required with CallbackAllow.
	CallbackSecret string `yaml:"callback_secret"`
	// EncryptionKey seals the credentials jobs carry (their Authorization,
	// X-Api-Key and like headers, and the places their upstream's
	// credentials section names) with AES-256-GCM before they are stored:
	// 32 random bytes in standard base64 (openssl rand -base64 32). ""
	// means none: a job carrying a credential is then refused.
	EncryptionKey string `yaml:"encryption_key"`
	// PreviousEncryptionKeys open what they sealed before a rotation; only
	// EncryptionKey seals. Keep a key here until no job sealed under it is
	// still to run.
	PreviousEncryptionKeys []string `yaml:"previous_encryption_keys"`
	// CallbackRetryFor is how long a callback is retried; 0 means 24h.
	CallbackRetryFor time.Duration `yaml:"callback_retry_for"`
	// Workers is how many jobs run at once; 0 means 4.
	Workers int `yaml:"workers"`
	// SnoozeAfter is the longest a job waits in a worker for the quota
	// before it is put aside; 0 means 2s.
	SnoozeAfter time.Duration `yaml:"snooze_after"`
	// MaxRequestBytes bounds a submitted job (and each job of a batch);
	// 0 means 1 MiB.
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// MaxBatchBytes bounds the body of a batch (/v1/jobs:batch); 0 means
	// 16 MiB. More is a 413.
	MaxBatchBytes int `yaml:"max_batch_bytes"`
	// MaxResponseBytes bounds the response body kept; longer ones are cut
	// and flagged truncated. 0 means 1 MiB.
	MaxResponseBytes int `yaml:"max_response_bytes"`
	// Retention is how long finished jobs are kept; 0 means 7 days.
	Retention time.Duration `yaml:"retention"`
	// JobTimeout bounds one run of a job; 0 means 2m. A job whose process
	// died while running it runs again whatever job_timeout: when heed
	// serve restarts on a SQLite database, within about 12s on PostgreSQL
	// (Options.JobTimeout).
	JobTimeout time.Duration `yaml:"job_timeout"`
}

// minCallbackSecret is the shortest callback secret Validate accepts.
const minCallbackSecret = 16

// Validate reports every problem of c, joined with errors.Join; nil means
// c can be used. Each is a *heed.ConfigError whose Path is the field's
// YAML path in heed serve's file ("jobs.database", "jobs.callback_allow[1]"),
// so that heed serve names its line (heed.Source.Locate).
func (c Config) Validate() error {
	var errs []error
	switch db := c.Database; {
	case strings.HasPrefix(db, "sqlite://") && len(db) > len("sqlite://"):
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
	default:
		errs = append(errs, heed.NewConfigError("jobs.database", "jobs.database: want sqlite://path/to/heed-jobs.db or postgres://user@host/db"))
	}
	for i, pat := range c.CallbackAllow {
		if _, err := ParseURLPattern(pat); err != nil {
			errs = append(errs, heed.NewConfigError(fmt.Sprintf("jobs.callback_allow[%d]", i), "jobs.callback_allow[%d]: %v", i, err))
		}
	}
	if len(c.CallbackAllow) > 0 && len(c.CallbackSecret) < minCallbackSecret {
		errs = append(errs, heed.NewConfigError("jobs.callback_secret",
			"jobs.callback_secret: at least %d bytes, required with callback_allow (callbacks are signed)", minCallbackSecret))
	}
	errs = append(errs, c.validateKeys()...)
	for _, f := range []struct {
		name string
		v    int64
	}{{"workers", int64(c.Workers)}, {"max_request_bytes", int64(c.MaxRequestBytes)}, {"max_batch_bytes", int64(c.MaxBatchBytes)},
		{"max_response_bytes", int64(c.MaxResponseBytes)},
		{"callback_retry_for", int64(c.CallbackRetryFor)}, {"snooze_after", int64(c.SnoozeAfter)}, {"retention", int64(c.Retention)},
		{"job_timeout", int64(c.JobTimeout)}} {
		if f.v < 0 {
			errs = append(errs, heed.NewConfigError("jobs."+f.name, "jobs.%s must not be negative", f.name))
		}
	}
	return errors.Join(errs...)
}

// validateKeys checks the encryption keys, never quoting one.
func (c Config) validateKeys() []error {
	var errs []error
	if c.EncryptionKey == "" && len(c.PreviousEncryptionKeys) > 0 {
		errs = append(errs, heed.NewConfigError("jobs.previous_encryption_keys",
			"jobs.previous_encryption_keys: only open what they sealed; set jobs.encryption_key, the key that seals"))
	}
	seen := make(map[string]string) // key id → path of the key
	check := func(path, key string) {
		b, err := base64.StdEncoding.DecodeString(key)
		switch {
		case err != nil:
			errs = append(errs, heed.NewConfigError(path, "%s: not standard base64; want 32 random bytes in standard base64 (openssl rand -base64 32)", path))
		case len(b) != KeySize:
			errs = append(errs, heed.NewConfigError(path, "%s: %d bytes; want %d random bytes in standard base64 (openssl rand -base64 32)", path, len(b), KeySize))
		case seen[keyID(b)] != "":
			errs = append(errs, heed.NewConfigError(path, "%s: the same key as %s", path, seen[keyID(b)]))
		default:
			seen[keyID(b)] = path
		}
	}
	if c.EncryptionKey != "" {
		check("jobs.encryption_key", c.EncryptionKey)
	}
	for i, k := range c.PreviousEncryptionKeys {
		check(fmt.Sprintf("jobs.previous_encryption_keys[%d]", i), k)
	}
	return errs
}

// EncryptionKeys returns the decoded EncryptionKey (nil for none) and
// PreviousEncryptionKeys, for Options.
func (c Config) EncryptionKeys() (current []byte, previous [][]byte, err error) {
	if errs := c.validateKeys(); len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	if c.EncryptionKey != "" {
		current, _ = base64.StdEncoding.DecodeString(c.EncryptionKey)
	}
	for _, k := range c.PreviousEncryptionKeys {
		b, _ := base64.StdEncoding.DecodeString(k)
		previous = append(previous, b)
	}
	return current, previous, nil
}

// CallbackPatterns returns the parsed CallbackAllow patterns, for
// APIOptions.CallbackAllow.
func (c Config) CallbackPatterns() ([]URLPattern, error) {
	pats := make([]URLPattern, 0, len(c.CallbackAllow))
	for _, p := range c.CallbackAllow {
		pat, err := ParseURLPattern(p)
		if err != nil {
			return nil, err
		}
		pats = append(pats, pat)
	}
	return pats, nil
}
