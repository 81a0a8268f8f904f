package httpcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock for tests; safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sized is an entry of exactly n bytes by Entry.Size.
func sized(n int64) *Entry {
	e := &Entry{Status: 200}
	e.Body = make([]byte, n-e.Size())
	return e
}

func TestMemoryLRU(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	m := NewMemory(1000, clk.Now)
	for _, k := range []string{"a", "b", "c"} {
		if err := m.Set(ctx, k, sized(300), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := m.Get(ctx, "a"); e == nil { // a is now the most recently used
		t.Fatal("a absent")
	}
	_ = m.Set(ctx, "d", sized(300), time.Hour) // evicts b, the least recently used
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if e, _ := m.Get(ctx, k); (e != nil) != want {
			t.Errorf("Get(%q) present = %v, want %v", k, e != nil, want)
		}
	}
	if m.Len() != 3 || m.Bytes() != 900 {
		t.Errorf("Len, Bytes = %d, %d; want 3, 900", m.Len(), m.Bytes())
	}
	_ = m.Set(ctx, "huge", sized(1001), time.Hour)
	if e, _ := m.Get(ctx, "huge"); e != nil || m.Bytes() != 900 {
		t.Errorf("an entry over maxBytes was kept (Bytes %d)", m.Bytes())
	}
	_ = m.Set(ctx, "big", sized(1000), time.Hour) // evicts all others
	if m.Len() != 1 || m.Bytes() != 1000 {
		t.Errorf("Len, Bytes = %d, %d; want 1, 1000", m.Len(), m.Bytes())
	}
	_ = m.Set(ctx, "big", sized(200), time.Hour) // replacing recounts
	if m.Len() != 1 || m.Bytes() != 200 {
		t.Errorf("after replace: Len, Bytes = %d, %d; want 1, 200", m.Len(), m.Bytes())
	}
	_ = m.Delete(ctx, "big")
	if m.Len() != 0 || m.Bytes() != 0 {
		t.Errorf("after Delete: Len, Bytes = %d, %d; want 0, 0", m.Len(), m.Bytes())
	}
}

func TestMemoryTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	m := NewMemory(1<<20, clk.Now)
	_ = m.Set(ctx, "k", sized(300), 10*time.Second)
	clk.Advance(9 * time.Second)
	if e, _ := m.Get(ctx, "k"); e == nil {
		t.Fatal("absent before its ttl")
	}
	clk.Advance(time.Second)
	if e, _ := m.Get(ctx, "k"); e != nil {
		t.Fatal("present at its ttl")
	}
	if m.Len() != 0 || m.Bytes() != 0 {
		t.Errorf("expired entry still counted: Len %d, Bytes %d", m.Len(), m.Bytes())
	}
	_ = m.Set(ctx, "k", sized(300), 0)
	if m.Len() != 0 {
		t.Error("a ttl of 0 was kept")
	}
}

func TestMemoryConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(10_000, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprint((g + i) % 40)
				switch i % 3 {
				case 0:
					_ = m.Set(ctx, k, sized(300), time.Minute)
				case 1:
					_, _ = m.Get(ctx, k)
				default:
					_ = m.Delete(ctx, k)
				}
				_ = m.Len() + int(m.Bytes())
			}
		})
	}
	wg.Wait()
	if m.Bytes() > 10_000 {
		t.Errorf("Bytes %d over the bound", m.Bytes())
	}
}

// blobMap is an in-memory Blobs for the Encoded tests.
type blobMap struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *blobMap) GetBlob(_ context.Context, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[key], nil
}

func (b *blobMap) SetBlob(_ context.Context, key string, v []byte, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = v
	return nil
}

func (b *blobMap) DeleteBlob(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
	return nil
}

func TestEncoded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs := &blobMap{m: make(map[string][]byte)}
	b := Encoded(blobs)
	if e, err := b.Get(ctx, "k"); e != nil || err != nil {
		t.Fatalf("Get of absent = %v, %v; want nil, nil", e, err)
	}
	if err := b.Set(ctx, "k", sampleEntry(), time.Minute); err != nil {
		t.Fatal(err)
	}
	e, err := b.Get(ctx, "k")
	if err != nil || e == nil || string(e.Body) != string(sampleEntry().Body) {
		t.Fatalf("Get = %v, %v", e, err)
	}
	blobs.m["bad"] = []byte("garbage")
	if _, err := b.Get(ctx, "bad"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of garbage: %v, want ErrCorrupt", err)
	}
	_ = b.Delete(ctx, "k")
	if e, _ := b.Get(ctx, "k"); e != nil {
		t.Error("present after Delete")
	}
}
