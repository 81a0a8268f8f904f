package httpcache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is a [Backend] in process memory: at most maxBytes of entries (by
// [Entry.Size]), the least recently used evicted first, each entry absent
// once its ttl has passed. Every operation is O(1); expired entries are
// dropped when met or evicted, with no goroutine. It keeps the entries it
// is given, not copies. A Memory is safe for concurrent use.
type Memory struct {
	maxBytes int64
	now      func() time.Time

	mu    sync.Mutex // guards the fields below
	items map[string]*list.Element
	lru   *list.List // of *memItem, most recently used first
	bytes int64
}

type memItem struct {
	key     string
	entry   *Entry
	size    int64
	expires time.Time
}

var _ Backend = (*Memory)(nil)

// NewMemory returns an empty Memory holding at most maxBytes, on the clock
// now (nil means time.Now).
func NewMemory(maxBytes int64, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{maxBytes: maxBytes, now: now, items: make(map[string]*list.Element), lru: list.New()}
}

// Get returns key's entry unless it is absent or expired, and marks it the
// most recently used.
func (m *Memory) Get(_ context.Context, key string) (*Entry, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	it := el.Value.(*memItem)
	if !now.Before(it.expires) {
		m.remove(el)
		return nil, nil
	}
	m.lru.MoveToFront(el)
	return it.entry, nil
}

// Set keeps e under key for ttl, evicting the least recently used entries
// beyond maxBytes. An entry bigger than maxBytes, or a ttl <= 0, is not
// kept (and drops key's previous entry).
func (m *Memory) Set(_ context.Context, key string, e *Entry, ttl time.Duration) error {
	it := &memItem{key: key, entry: e, size: e.Size(), expires: m.now().Add(ttl)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	if ttl <= 0 || it.size > m.maxBytes {
		return nil
	}
	m.items[key] = m.lru.PushFront(it)
	m.bytes += it.size
	for m.bytes > m.maxBytes {
		m.remove(m.lru.Back())
	}
	return nil
}

// Delete drops key's entry.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	return nil
}

// Len is the number of entries held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Bytes is the sum of the sizes of the entries held.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// remove drops el; m.mu is held.
func (m *Memory) remove(el *list.Element) {
	it := m.lru.Remove(el).(*memItem)
	delete(m.items, it.key)
	m.bytes -= it.size
}
