package redis

import (
	"strconv"
	"strings"
	"sync"

	"github.com/heedhq/heed/store"
)

// leases holds the admissions a process took ahead (local leasing): per
// scope, limits and cost, how many are left and until when they may be
// spent. It is safe for concurrent use.
type leases struct {
	mu sync.Mutex // guards m
	m  map[string]*batch
}

// batch is admissions taken ahead for one leaseKey.
type batch struct {
	scope   string
	left    int
	expires int64 // µs on Store.clock
}

// maxLeaseKeys bounds the map: past it, put sweeps expired batches first.
const maxLeaseKeys = 4096

func newLeases() *leases { return &leases{m: make(map[string]*batch)} }

// leaseKey names what a batch may be spent on: the same scope, the same
// limits (keys and rates) and the same cost. Paces are the server's; a
// batch was taken under those in force when it was taken.
func leaseKey(req store.Request) string {
	var b strings.Builder
	b.WriteString(req.Scope)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(max(req.Cost, 1), 10))
	for _, l := range req.Limits {
		b.WriteByte(0)
		b.WriteString(l.Key)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(l.GCRA.Interval, 10))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(l.GCRA.Tolerance, 10))
	}
	return b.String()
}

// take spends one admission of key if one is left and not expired at now.
func (l *leases) take(key string, now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[key]
	if !ok {
		return false
	}
	if b.left <= 0 || now >= b.expires {
		delete(l.m, key)
		return false
	}
	b.left--
	return true
}

// put keeps n admissions of key, for scope, from now until expires. It
// replaces what was left: those are older and expire sooner.
func (l *leases) put(key, scope string, n int, now, expires int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxLeaseKeys {
		for k, b := range l.m {
			if b.left <= 0 || now >= b.expires {
				delete(l.m, k)
			}
		}
	}
	l.m[key] = &batch{scope: scope, left: n, expires: expires}
}

// drop forgets every batch of scope.
func (l *leases) drop(scope string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.m {
		if b.scope == scope {
			delete(l.m, k)
		}
	}
}
