package heed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/heedhq/heed/httpcache"
	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/scope"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/failover"
	"github.com/heedhq/heed/store/memory"
)

// Transport is an http.RoundTripper that makes every request of a
// configured upstream a good API citizen. For each request it:
//
//  1. matches the URL to an upstream (no match: the request passes through
//     to the base transport untouched), or takes the one WithUpstream names;
//  2. derives the scope: the upstream + a keyed fingerprint of the
//     credential the request carries; the tenant (WithTenant, else
//     Config.Tenant) keys per-tenant limits;
//  3. refuses at once with a synthetic circuit-open response while the
//     upstream's breaker is open;
//  4. in one atomic store call, checks the scope's cooldown, every limit that
//     matches (each charged in its own unit), every pace learned from quota
//     headers and the concurrency cap, and waits until they all have room
//     (on_limit: fail answers a cooldown with a synthetic response instead;
//     a wait past max_wait or the request's deadline is answered with one at
//     once);
//  5. sends the request through the base transport;
//  6. reads the response's rate-limit signals (package quota) and records a
//     cooldown for the whole scope when told to wait, a pace when the quota
//     runs low, and the outcome for the breaker;
//  7. retries 429, 502, 503, 504 and transport errors with backoff (a
//     server-given wait wins) when the method is idempotent or carries an
//     Idempotency-Key, and the client does not retry on its own
//     (RetryPolicy.ClientRetryHeaders); or else returns the response.
//
// call.go lists the files that hold each step, in that order.
//
// Where it departs from the http.RoundTripper contract: it retries, so one
// RoundTrip may send a request several times (the body replayed through
// GetBody); it may wait before sending; and it may answer with a synthetic
// response (header Heed-Synthetic, a body in the vendor's error shape; see
// RefusalOf) without sending anything. It never modifies the caller's
// request.
//
// A Transport is safe for concurrent use. Close it when done.
type Transport struct {
	cfg        Config
	base       http.RoundTripper
	store      store.Store
	closeStore bool
	// fleet is the store's outage wrapper when the store is shared, else
	// nil.
	fleet   *failover.Store
	secret  []byte
	clock   Clock
	log     *slog.Logger
	metrics Metrics
	// blobs keeps shared cache entries, when the store can (store/redis).
	blobs httpcache.Blobs
	// tokenizer counts OpenAI input tokens (Config.Tokenizer).
	tokenizer llm.Tokenizer
	ups       []*upstream
	byName    map[string]*upstream
	router    router
	rand      *lockedRand

	// stopSweeps ends the sweeps of idle scopes; swept is closed when they
	// have ended.
	stopSweeps context.CancelFunc
	swept      chan struct{}
	closeOnce  sync.Once
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport for cfg, after filling its defaults and
// validating it.
func New(cfg Config) (*Transport, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Transport{cfg: cfg, base: cfg.Base, clock: cfg.Clock, log: cfg.Logger, metrics: cfg.Metrics, tokenizer: cfg.Tokenizer,
		rand: newLockedRand(), router: newRouter(cfg.Upstreams), byName: make(map[string]*upstream)}
	if err := t.fill(); err != nil {
		return nil, err
	}
	for i := range cfg.Upstreams {
		u, err := newUpstream(cfg.Upstreams[i], t)
		if err != nil {
			return nil, err
		}
		t.ups = append(t.ups, u)
		t.byName[u.cfg.Name] = u
	}
	if err := t.openStore(); err != nil {
		return nil, err
	}
	if err := t.openCaches(); err != nil {
		t.closeStoreNow()
		return nil, err
	}
	t.startSweeps()
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
		t.metrics = NoMetrics{}
	}
	t.secret = []byte(t.cfg.FingerprintSecret)
	if len(t.secret) == 0 {
		t.secret = scope.RandomSecret()
	}
	return nil
}

// openStore opens the store the Config names (or takes StoreImpl) and,
// when it is shared, wraps it for its outages (package store/failover).
func (t *Transport) openStore() error {
	s, owned := t.cfg.StoreImpl, false
	if s == nil {
		var err error
		if s, err = openStore(t.cfg, t.clock); err != nil {
			return err
		}
		owned = true
	}
	t.store, t.closeStore = s, owned
	t.blobs, _ = s.(httpcache.Blobs)
	if _, inProcess := s.(*memory.Store); inProcess {
		return nil
	}
	groups := make([]string, len(t.ups))
	for i, u := range t.ups {
		groups[i] = u.cfg.Name
	}
	t.fleet = failover.New(s, failover.Options{
		Closed: t.cfg.OnStoreError == StoreErrorClosed, Groups: groups, GroupOf: upstreamOfScope,
		Now: t.clock.Now, Sleep: t.clock.Sleep, OnError: t.storeFailed, OnLive: t.metrics.FleetSize,
		LeaveOpen: !owned,
	})
	t.store, t.closeStore = t.fleet, true
	return nil
}

// openCaches gives the upstreams with a cache or coalescing their layer
// (see responseCache), above retry.
func (t *Transport) openCaches() error {
	for _, u := range t.ups {
		if u.cfg.Cache.Enabled && u.cfg.Cache.Shared && t.blobs == nil {
			return fmt.Errorf("heed: upstream %q: cache.shared: the store keeps no cache entries (a Redis store does)", u.cfg.Name)
		}
		if u.rc = newResponseCache(u, t.blobs); u.rc != nil {
			u.handle = compose(withLayer(pipeline(), layerRetry, layer{layerCache, u.rc.layer}), u.send)
		}
	}
	return nil
}

// closeStoreNow closes the store New opened, when New fails after.
func (t *Transport) closeStoreNow() {
	if t.closeStore {
		_ = t.store.Close()
	}
}

// sweeper is a store that can drop what it holds of idle scopes on
// demand (the memory store, and store/failover's fallback).
type sweeper interface{ Sweep() }

// startSweeps forgets, every ForgetAfter/4 (at least every second), the
// scopes idle for ForgetAfter, and has the store drop what it holds of
// idle scopes, so that memory follows the credentials in use.
func (t *Transport) startSweeps() {
	ctx, stop := context.WithCancel(context.Background())
	t.stopSweeps, t.swept = stop, make(chan struct{})
	every := max(t.cfg.ForgetAfter/4, time.Second)
	go func() {
		defer close(t.swept)
		for t.clock.Sleep(ctx, every) == nil {
			t.sweep(t.clock.Now())
		}
	}()
}

// sweep forgets the scopes idle at now.
func (t *Transport) sweep(now time.Time) {
	for _, u := range t.ups {
		u.scopes.sweep(now, t.cfg.ForgetAfter)
	}
	if s, ok := t.store.(sweeper); ok {
		s.Sweep()
	}
}

// upstreamOfScope returns the upstream a store scope key names: its second
// part (see scope.Key.String).
func upstreamOfScope(key string) string {
	_, rest, _ := strings.Cut(key, "/")
	name, _, _ := strings.Cut(rest, "/")
	return name
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

// storeFailed counts a failure of the shared store and, at most every
// storeWarnEvery per upstream, warns that requests go on with this
// process's share.
func (t *Transport) storeFailed(group, op string, err error) {
	t.metrics.StoreError(group, op)
	u := t.byName[group]
	if u == nil || op == failover.OpRelease || t.cfg.OnStoreError != StoreErrorOpen || !u.storeWarning(t.clock.Now()) {
		return
	}
	t.log.Warn("heed: store unavailable; limiting this process to its share of each limit until it is back (repeats at most every 10s)",
		"upstream", group, "operation", op, "share", fmt.Sprintf("1/%d", max(t.fleet.Live(group), 1)), "error", err.Error())
}

// RoundTrip implements http.RoundTripper; see Transport for what it does.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, errors.New("heed: request has no URL")
	}
	opts := optionsOf(req.Context())
	u, err := t.route(req.URL, opts.upstream)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return t.base.RoundTrip(req)
	}
	return u.newCall(req, opts).run()
}

// Close releases the Transport's resources: the store it made itself and
// the idle connections of the base transport it made itself.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.stopSweeps()
		<-t.swept
		for _, u := range t.ups {
			if u.rc != nil {
				u.rc.close()
			}
		}
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
