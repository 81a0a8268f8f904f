package heed

import (
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store/memory"
)

// The cache's defaults and bounds.
const (
	defaultCacheBytes      ByteSize = 64 << 20
	defaultCacheEntryBytes ByteSize = 1 << 20
	// maxCacheEntryBytes bounds MaxEntryBytes: an entry is held whole in
	// memory (and, shared, in one Redis value).
	maxCacheEntryBytes ByteSize = 64 << 20
)

// withDefaults returns p with its defaults filled in for the upstream u,
// and its own copy of its pointer.
func (p CachePolicy) withDefaults(u Upstream) CachePolicy {
	p.MaxBytes = orDefault(p.MaxBytes, defaultCacheBytes)
	p.MaxEntryBytes = orDefault(p.MaxEntryBytes, defaultCacheEntryBytes)
	free := vendorOf(u) == quota.VendorGitHub
	if p.Free304 != nil {
		free = *p.Free304
	}
	p.Free304 = &free
	return p
}

// checkCache checks the cache's fields; shared says whether the config's
// store is shared by a fleet.
func checkCache(p *problems, at loc, c CachePolicy, shared bool) {
	at = at.field("cache")
	switch {
	case c.MaxBytes < 0:
		p.addf("%s must not be negative", at.field("max_bytes"))
	case c.MaxEntryBytes < 0:
		p.addf("%s must not be negative", at.field("max_entry_bytes"))
	case c.MaxEntryBytes > maxCacheEntryBytes:
		p.addf("%s %v: at most %v (an entry is held whole)", at.field("max_entry_bytes"), c.MaxEntryBytes, maxCacheEntryBytes)
	case c.MaxEntryBytes > c.MaxBytes:
		p.addf("%s %v is more than max_bytes %v", at.field("max_entry_bytes"), c.MaxEntryBytes, c.MaxBytes)
	}
	if !(c.Heuristic >= 0 && c.Heuristic <= 1) {
		p.addf("%s %v out of range [0, 1]", at.field("heuristic"), c.Heuristic)
	}
	if c.Shared && !shared {
		p.addf("%s: a shared cache needs a shared store (store: redis://...); the memory store is each process's own", at.field("shared"))
	}
}

// sharedStore reports whether c's store is shared by a fleet (not the
// memory store).
func (c Config) sharedStore() bool {
	if c.StoreImpl != nil {
		_, inProcess := c.StoreImpl.(*memory.Store)
		return !inProcess
	}
	return c.Store != "" && c.Store != storeMemory
}
