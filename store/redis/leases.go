package redis

import (
	"strconv"
	"strings"
	"sync"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

// leases holds what a process knows ahead (local leasing): per scope,
// limits and costs, the admissions it took ahead and until when they may be
// spent, or the refusal Redis last gave and until when it holds. It is safe
// for concurrent use.
type leases struct {
	mu sync.Mutex                   // guards m and n
	m  map[string]map[string]*batch // scope, leaseKey
	n  int                          // entries in m
}

// batch is admissions taken ahead for one leaseKey, or a refusal.
type batch struct {
	left    int
	expires int64 // µs on Store.clock: the end of the batch or the refusal
	// refused, when set, is a refusal in force until expires: nothing
	// another process does can end a cooldown or free a limit sooner.
	refused *store.Grant
}

// maxLeaseKeys bounds the map: past it, put sweeps expired batches first.
const maxLeaseKeys = 4096

func newLeases() *leases { return &leases{m: make(map[string]map[string]*batch)} }

// leaseKey names, within a scope, what a batch may be spent on: the same
// limits (keys, rates and units) and the same charge in every unit, so that
// each limit, and each pace whatever its unit, was charged for the
// admissions taken ahead what the request spending one costs it. Paces are
// the server's; a batch was taken under those in force when it was taken.
func leaseKey(req store.Request) string {
	var b strings.Builder
	for u := store.UnitRequests; u <= store.UnitOutputTokens; u++ {
		if u > store.UnitRequests {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(req.Cost.Charge(u), 10))
	}
	for _, l := range req.Limits {
		b.WriteByte(0)
		b.WriteString(l.Key)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(l.GCRA.Interval, 10))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(l.GCRA.Tolerance, 10))
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(int(l.Unit)))
	}
	return b.String()
}

// take answers from what the process holds for key of scope at now: an
// admission taken ahead, or a refusal still in force with the time left to
// wait. It reports false when it holds neither.
func (l *leases) take(scope, key string, now int64) (store.Grant, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[scope][key]
	if !ok {
		return store.Grant{}, false
	}
	if b.spent(now) {
		l.remove(scope, key)
		return store.Grant{}, false
	}
	if b.refused != nil {
		g := *b.refused
		g.Wait = limit.Duration(b.expires - now)
		return g, true
	}
	b.left--
	return store.Grant{Allowed: true}, true
}

// spent reports whether b holds nothing more at now.
func (b *batch) spent(now int64) bool {
	return now >= b.expires || (b.refused == nil && b.left <= 0)
}

// refuse keeps Redis's refusal g of key of scope, from now until it ends,
// unless admissions of key taken ahead are held: they were charged, and are
// spent first. (Pipelined, the round trip that took them often brings
// refusals of the same key too.)
func (l *leases) refuse(scope, key string, g store.Grant, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.m[scope][key]; ok && b.refused == nil && !b.spent(now) {
		return
	}
	l.keep(scope, key, &batch{expires: now + limit.Micros(g.Wait), refused: &g}, now)
}

// admitted notes that Redis let a request of scope go with n more
// admissions of key taken ahead, from now until expires; n may be 0. The
// scope's remembered refusals are forgotten: the units just spent may make
// their waits longer.
func (l *leases) admitted(scope, key string, n int, now, expires int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetRefusals(scope)
	if n > 0 {
		l.keep(scope, key, &batch{left: n, expires: expires}, now)
	}
}

// settled notes that a charge of scope was settled. When it charged more,
// everything held for scope is dropped: the admissions were taken ahead
// before the debt and may no longer fit. When it only gave back, the
// scope's refusals are forgotten: their waits may now be too long, and the
// admissions held still fit.
func (l *leases) settled(scope string, more bool) {
	if more {
		l.drop(scope)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetRefusals(scope)
}

// forgetRefusals removes the refusals held for scope. l.mu is held.
func (l *leases) forgetRefusals(scope string) {
	for k, b := range l.m[scope] {
		if b.refused != nil {
			l.remove(scope, k)
		}
	}
}

// keep stores b, sweeping what has expired at now when the map is full.
// l.mu is held.
func (l *leases) keep(scope, key string, b *batch, now int64) {
	if l.n >= maxLeaseKeys {
		for sc, keys := range l.m {
			for k, old := range keys {
				if old.spent(now) {
					l.remove(sc, k)
				}
			}
		}
	}
	keys := l.m[scope]
	if keys == nil {
		keys = make(map[string]*batch)
		l.m[scope] = keys
	}
	if _, ok := keys[key]; !ok {
		l.n++
	}
	keys[key] = b
}

// remove deletes one entry. l.mu is held.
func (l *leases) remove(scope, key string) {
	keys := l.m[scope]
	if _, ok := keys[key]; !ok {
		return
	}
	delete(keys, key)
	l.n--
	if len(keys) == 0 {
		delete(l.m, scope)
	}
}

// drop forgets everything held for scope.
func (l *leases) drop(scope string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n -= len(l.m[scope])
	delete(l.m, scope)
}
