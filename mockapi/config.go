package mockapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/heedhq/heed/internal/clock"
	"math"
	"time"
)

// Algorithm names, the values of Limit.Algorithm.
const (
	// AlgorithmNone: no limit; every request is accepted (forced responses
	// and ErrorRate still apply) and no quota headers are sent.
	AlgorithmNone = ""
	// AlgorithmFixed: a fixed window. A credential's window opens with its
	// first request and lasts Per; at most Requests are accepted in it. The
	// reset is the end of the window.
	AlgorithmFixed = "fixed"
	// AlgorithmSliding: a sliding window log. At most Requests are accepted
	// in any span of Per. The reset is when the oldest accepted request in
	// the window leaves it.
	AlgorithmSliding = "sliding"
	// AlgorithmToken: a token bucket of Burst tokens, refilled at Requests
	// per Per, full at first. The reset is when the next token is back.
	AlgorithmToken = "token"
	// AlgorithmConcurrency: at most Concurrency requests of a credential in
	// flight at once. There is no reset; a refusal says Retry-After: 1.
	AlgorithmConcurrency = "concurrency"
)

// Dialect names, the values of Config.Dialect. Each says how a response
// describes the quota and how a refusal looks; see the package doc.
const (
	DialectIETF       = "ietf"
	DialectGitHub     = "github"
	DialectOpenAI     = "openai"
	DialectAnthropic  = "anthropic"
	DialectRetryAfter = "retry-after"
	DialectNone       = "none"
)

// DefaultLogSize is how many request log entries a Server keeps when
// Config.LogSize is 0.
const DefaultLogSize = 10000

// Limit is the rate limit the mock applies to each credential on its own.
// The zero value is no limit at all.
type Limit struct {
	// Algorithm is one of AlgorithmNone (""), AlgorithmFixed,
	// AlgorithmSliding, AlgorithmToken or AlgorithmConcurrency.
	Algorithm string
	// Requests is how many requests are accepted per Per (fixed, sliding)
	// or how many tokens come back per Per (token). Required, > 0, for
	// those three algorithms; must be 0 for the others.
	Requests int
	// Per is the window (fixed, sliding) or the refill period (token).
	// Required, > 0, for those three algorithms; must be 0 for the others.
	Per time.Duration
	// Burst is the token bucket's capacity; 0 means Requests. Only for
	// AlgorithmToken.
	Burst int
	// Concurrency is how many requests of one credential may be in flight
	// at once. Required, > 0, for AlgorithmConcurrency; must be 0 for the
	// others.
	Concurrency int
}

// Config says how a Server behaves. The zero value is a mock that accepts
// every request, sends no quota headers, never fails at random and answers
// at once.
type Config struct {
	// Limit is the rate limit each credential gets.
	Limit Limit
	// Dialect is how responses describe the quota and refuse requests:
	// DialectIETF, DialectGitHub, DialectOpenAI, DialectAnthropic,
	// DialectRetryAfter or DialectNone. "" means DialectIETF.
	Dialect string
	// ErrorRate is the share of requests, from 0 to 1, answered 503 at
	// random before the limit is consulted. 0 means none.
	ErrorRate float64
	// Seed seeds the random source of ErrorRate and LatencyJitter, so a
	// run can be repeated. Reset restarts the source from Seed.
	Seed uint64
	// Latency is how long an accepted request takes before it is answered.
	// 0 means it is answered at once. Limited, forced and random error
	// responses are answered at once.
	Latency time.Duration
	// LatencyJitter adds a random extra delay in [0, LatencyJitter) to
	// Latency. 0 means none.
	LatencyJitter time.Duration
	// LogSize is how many of the newest request log entries are kept.
	// 0 means DefaultLogSize.
	LogSize int
	// Now returns the current time. nil means time.Now. Tests pass a fake
	// clock to make every limit decision exact.
	Now func() time.Time
	// Sleep waits d or until ctx is done, whichever comes first, and
	// returns ctx's error in the second case. It is used for Latency and
	// for the interval between /stream events. nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// LLM turns on an LLM endpoint with token buckets (see LLM). Its path
	// is limited by LLM's buckets, not by Limit, and described in the
	// vendor's headers whatever Dialect says. The zero value is off.
	LLM LLM
	// Cache says how GET /resources/{name} may be cached and revalidated
	// (see Cache). The zero value is GitHub's: private, max-age=60,
	// s-maxage=60, a strong ETag and Last-Modified, and, under
	// DialectGitHub, 304s that cost no quota.
	Cache Cache
}

// DefaultCacheMaxAge is the max-age (and s-maxage) of a resource when
// Cache.MaxAge is nil, as GitHub's REST API sends.
const DefaultCacheMaxAge = 60 * time.Second

// Cache says what the resources under /resources/ send in Cache-Control,
// which validators they carry and what a 304 costs. The zero value is
// GitHub's REST API: "Cache-Control: private, max-age=60, s-maxage=60",
// a strong ETag, Last-Modified, and 304s free under DialectGitHub.
type Cache struct {
	// MaxAge is sent as max-age and s-maxage, in whole seconds. nil means
	// DefaultCacheMaxAge; a pointer to 0 sends max-age=0, s-maxage=0.
	// Must not be negative or hold a fraction of a second, nor be set
	// with NoMaxAge.
	MaxAge *time.Duration
	// NoMaxAge sends neither max-age nor s-maxage: a cache may only guess
	// a freshness lifetime (or, with NoCache, must revalidate).
	NoMaxAge bool
	// Public sends "public" instead of "private" (as GitHub does for
	// anonymous requests); the default is "private".
	Public bool
	// NoCache adds "no-cache": a stored answer must be revalidated before
	// every use.
	NoCache bool
	// NoStore adds "no-store": the answer must not be stored at all.
	NoStore bool
	// MustRevalidate adds "must-revalidate": a stale answer must not be
	// used without revalidating it, even when the origin is unreachable.
	MustRevalidate bool
	// NoETag sends no ETag; If-None-Match then never matches.
	NoETag bool
	// NoLastModified sends no Last-Modified; If-Modified-Since is then
	// ignored. With NoETag too, a resource has no validators at all and
	// every conditional request gets 200.
	NoLastModified bool
	// WeakETag sends the ETag as weak (W/"..."). If-None-Match compares
	// weakly either way, as RFC 9110 says it must.
	WeakETag bool
	// Free304 reports whether a 304 Not Modified costs nothing against
	// its credential's limit, as GitHub's REST API promises for
	// conditional requests; its quota headers then report the quota
	// unchanged by it. nil means true under DialectGitHub and false under
	// every other dialect. (Under AlgorithmConcurrency a 304 holds its
	// slot while in flight either way.)
	Free304 *bool
}

// validate checks c.
func (c Cache) validate() error {
	if c.MaxAge == nil {
		return nil
	}
	switch d := *c.MaxAge; {
	case c.NoMaxAge:
		return errors.New("mockapi: Cache.MaxAge and Cache.NoMaxAge are both set")
	case d < 0:
		return fmt.Errorf("mockapi: Cache.MaxAge %v is negative", d)
	case d%time.Second != 0:
		return fmt.Errorf("mockapi: Cache.MaxAge %v is not whole seconds", d)
	}
	return nil
}

// free304 reports whether a 304 is free under the dialect named dialect.
func (c Cache) free304(dialect string) bool {
	if c.Free304 != nil {
		return *c.Free304
	}
	return dialect == DialectGitHub
}

// validate checks c and returns it with defaults filled in.
func (c Config) validate() (Config, error) {
	if err := c.Limit.validate(); err != nil {
		return c, err
	}
	if c.Dialect == "" {
		c.Dialect = DialectIETF
	}
	if _, ok := dialectNamed(c.Dialect); !ok {
		return c, fmt.Errorf("mockapi: Dialect %q is not one of ietf, github, openai, anthropic, retry-after, none", c.Dialect)
	}
	if err := c.validateChance(); err != nil {
		return c, err
	}
	if err := c.Cache.validate(); err != nil {
		return c, err
	}
	llm, err := c.LLM.validate()
	if err != nil {
		return c, err
	}
	c.LLM = llm
	return c.withDefaults(), nil
}

// validateChance checks the fields of random behaviour and delays.
func (c Config) validateChance() error {
	switch {
	case math.IsNaN(c.ErrorRate) || c.ErrorRate < 0 || c.ErrorRate > 1:
		return fmt.Errorf("mockapi: ErrorRate %v is not between 0 and 1", c.ErrorRate)
	case c.Latency < 0:
		return fmt.Errorf("mockapi: Latency %v is negative", c.Latency)
	case c.LatencyJitter < 0:
		return fmt.Errorf("mockapi: LatencyJitter %v is negative", c.LatencyJitter)
	case c.LogSize < 0:
		return fmt.Errorf("mockapi: LogSize %d is negative", c.LogSize)
	}
	return nil
}

// withDefaults fills in the documented meaning of zero values.
func (c Config) withDefaults() Config {
	if c.Limit.Algorithm == AlgorithmToken && c.Limit.Burst == 0 {
		c.Limit.Burst = c.Limit.Requests
	}
	if c.LogSize == 0 {
		c.LogSize = DefaultLogSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = clock.Sleep
	}
	return c
}

// validate checks that l names an algorithm and sets exactly the fields it
// uses.
func (l Limit) validate() error {
	switch l.Algorithm {
	case AlgorithmNone:
		return l.unused(AlgorithmNone, l.Requests != 0, l.Per != 0, l.Burst != 0, l.Concurrency != 0)
	case AlgorithmFixed, AlgorithmSliding:
		if err := l.validateRate(); err != nil {
			return err
		}
		return l.unused(l.Algorithm, false, false, l.Burst != 0, l.Concurrency != 0)
	case AlgorithmToken:
		if err := l.validateRate(); err != nil {
			return err
		}
		if err := l.validateBurst(); err != nil {
			return err
		}
		return l.unused(l.Algorithm, false, false, false, l.Concurrency != 0)
	case AlgorithmConcurrency:
		if l.Concurrency <= 0 {
			return fmt.Errorf("mockapi: Limit.Concurrency %d must be > 0 for the concurrency algorithm", l.Concurrency)
		}
		return l.unused(l.Algorithm, l.Requests != 0, l.Per != 0, l.Burst != 0, false)
	}
	return fmt.Errorf("mockapi: Limit.Algorithm %q is not one of fixed, sliding, token, concurrency or empty", l.Algorithm)
}

// validateRate checks Requests and Per of a rate algorithm.
func (l Limit) validateRate() error {
	if l.Requests <= 0 {
		return fmt.Errorf("mockapi: Limit.Requests %d must be > 0 for the %s algorithm", l.Requests, l.Algorithm)
	}
	if l.Per <= 0 {
		return fmt.Errorf("mockapi: Limit.Per %v must be > 0 for the %s algorithm", l.Per, l.Algorithm)
	}
	return nil
}

// validateBurst checks the token bucket's capacity, which must fit the
// bucket's integer arithmetic (capacity × Per nanoseconds).
func (l Limit) validateBurst() error {
	if l.Burst < 0 {
		return fmt.Errorf("mockapi: Limit.Burst %d is negative", l.Burst)
	}
	capacity := max(l.Burst, l.Requests)
	if int64(capacity) > math.MaxInt64/int64(l.Per) {
		return fmt.Errorf("mockapi: Limit.Burst or Requests (%d) times Per (%v) is too large", capacity, l.Per)
	}
	return nil
}

// unused reports the first field that is set although algorithm does not
// use it.
func (l Limit) unused(algorithm string, requests, per, burst, concurrency bool) error {
	fields := []struct {
		set  bool
		name string
	}{{requests, "Requests"}, {per, "Per"}, {burst, "Burst"}, {concurrency, "Concurrency"}}
	for _, f := range fields {
		switch {
		case f.set && algorithm == AlgorithmNone:
			return fmt.Errorf("mockapi: Limit.%s is set but Limit.Algorithm is empty (no limit)", f.name)
		case f.set:
			return fmt.Errorf("mockapi: Limit.%s is set but the %s algorithm does not use it", f.name, algorithm)
		}
	}
	return nil
}
