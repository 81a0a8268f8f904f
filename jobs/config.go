package jobs

import (
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
	// ("http://127.0.0.1:*", "https://*.example.com:443"), optionally
	// followed by a path prefix. None means no callbacks.
	CallbackAllow []string `yaml:"callback_allow"`
	// CallbackSecret signs callbacks (Heed-Signature); at least 16 bytes;
	// required with CallbackAllow.
	CallbackSecret string `yaml:"callback_secret"`
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
	for _, f := range []struct {
		name string
		v    int64
	}{{"workers", int64(c.Workers)}, {"max_request_bytes", int64(c.MaxRequestBytes)}, {"max_response_bytes", int64(c.MaxResponseBytes)},
		{"callback_retry_for", int64(c.CallbackRetryFor)}, {"snooze_after", int64(c.SnoozeAfter)}, {"retention", int64(c.Retention)},
		{"job_timeout", int64(c.JobTimeout)}} {
		if f.v < 0 {
			errs = append(errs, heed.NewConfigError("jobs."+f.name, "jobs.%s must not be negative", f.name))
		}
	}
	return errors.Join(errs...)
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
