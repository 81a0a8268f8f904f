package heed

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/heedhq/heed/scope"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/memory"
)

// Transport is an http.RoundTripper that makes every request of a
// configured upstream a good API citizen. For each request it:
//
//  1. matches the URL to an upstream (no match: the request passes through
//     to the base transport untouched);
//  2. derives the scope: tenant + upstream + a keyed fingerprint of the
//     credential the request carries;
//  3. refuses at once with a synthetic circuit-open response while the
//     upstream's breaker is open;
//  4. in one atomic store call, checks the scope's cooldown, every limit that
//     matches, every pace learned from quota headers and the concurrency
//     cap, and waits until they all have room (on_limit: fail answers a
//     cooldown with a synthetic response instead; a wait past max_wait or the
//     request's deadline is answered with one at once);
//  5. sends the request through the base transport;
//  6. reads the response's rate-limit signals (package quota) and records a
//     cooldown for the whole scope when told to wait, a pace when the quota
//     runs low, and the outcome for the breaker;
//  7. retries 429, 502, 503, 504 and transport errors with backoff (a
//     server-given wait wins) when the method is idempotent or carries an
//     Idempotency-Key, or else returns the response.
//
// Where it departs from the http.RoundTripper contract: it retries, so one
// RoundTrip may send a request several times (the body replayed through
// GetBody); it may wait before sending; and it may answer with a synthetic
// response (header Heed-Synthetic) without sending anything. It never
// modifies the caller's request.
//
// A Transport is safe for concurrent use. Close it when done.
type Transport struct {
	cfg        Config
	base       http.RoundTripper
	store      store.Store
	closeStore bool
	secret     []byte
	clock      Clock
	log        *slog.Logger
	metrics    Metrics
	ups        []*upstream
	router     router
	rand       *lockedRand
	fleet      fleet

	closeOnce sync.Once
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport for cfg, after filling its defaults and
// validating it.
func New(cfg Config) (*Transport, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Transport{cfg: cfg, base: cfg.Base, store: cfg.StoreImpl, clock: cfg.Clock, log: cfg.Logger,
		metrics: cfg.Metrics, rand: newLockedRand(), router: newRouter(cfg.Upstreams)}
	if err := t.fill(); err != nil {
		return nil, err
	}
	for i := range cfg.Upstreams {
		u, err := newUpstream(cfg.Upstreams[i], t)
		if err != nil {
			return nil, err
		}
		t.ups = append(t.ups, u)
	}
	t.startFleet()
	return t, nil
}

// fill sets what the Config left to defaults.
func (t *Transport) fill() error {
	if t.base == nil {
		t.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if t.clock == nil {
		t.clock = realClock{}
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.metrics == nil {
		t.metrics = noMetrics{}
	}
	if t.store == nil {
		s, err := openStore(t.cfg, t.clock)
		if err != nil {
			return err
		}
		t.store, t.closeStore = s, true
	}
	t.secret = []byte(t.cfg.FingerprintSecret)
	if len(t.secret) == 0 {
		t.secret = scope.RandomSecret()
	}
	return nil
}

// openStore opens the store cfg names: the memory store, or one that
// cfg.Stores opens (Validate made sure there is one).
func openStore(cfg Config, clock Clock) (store.Store, error) {
	if cfg.Store == "" || cfg.Store == storeMemory {
		return memory.New(memory.Options{Now: clock.Now}), nil
	}
	s, err := cfg.Stores.Open(cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("heed: store: %w", err)
	}
	return s, nil
}

// RoundTrip implements http.RoundTripper; see Transport for what it does.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, errors.New("heed: request has no URL")
	}
	i, ok := t.router.match(req.URL)
	if !ok {
		return t.base.RoundTrip(req)
	}
	c := t.ups[i].newCall(req)
	return c.run()
}

// Close releases the Transport's resources: the store it made itself and
// the idle connections of the base transport it made itself.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.stopFleet()
		if t.closeStore {
			err = t.store.Close()
		}
		if t.cfg.Base == nil {
			t.base.(*http.Transport).CloseIdleConnections()
		}
	})
	return err
}

// Upstream returns the name of the upstream whose base URL covers u, as
// RoundTrip would match it, and false when none does.
func (t *Transport) Upstream(u *url.URL) (string, bool) {
	if u == nil {
		return "", false
	}
	i, ok := t.router.match(u)
	if !ok {
		return "", false
	}
	return t.ups[i].cfg.Name, true
}
