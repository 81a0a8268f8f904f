package coalesce_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/coalesce"
)

// TestMemoryBound: a 64 MiB body streamed to 10 readers that keep the same
// pace grows the heap by far less than the body: the log holds only what
// lies between the slowest and the fastest reader.
func TestMemoryBound(t *testing.T) {
	// Not parallel: it measures the heap.
	if testing.Short() {
		t.Skip("streams 64 MiB; skipped in -short")
	}
	const (
		size    = 64 << 20
		readers = 10
		period  = 251 // of pattern
	)
	pat := pattern(period + 32<<10) // pat[o%period:] is the body at offset o
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for off := 0; off < size; off += 32 << 10 {
			if _, err := w.Write(pat[off%period : off%period+32<<10]); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	g := coalesce.New(coalesce.Options{})
	answer := newGate()
	fetch := getter(newClient(t), srv.URL)
	resps := startShared(t, g, readers, answer, func(ctx context.Context) (*http.Response, error) {
		answer.wait()
		return fetch(ctx)
	})

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := sampleHeap()

	p := newPacer(readers, 256<<10)
	var wg sync.WaitGroup
	errs := make([]error, readers)
	for i, resp := range resps {
		wg.Go(func() {
			defer p.done(i)
			buf := make([]byte, 32<<10)
			var off int64
			for {
				n, err := resp.Body.Read(buf)
				if o := int(off % period); !bytes.Equal(buf[:n], pat[o:o+n]) {
					errs[i] = io.ErrUnexpectedEOF
					return
				}
				off += int64(n)
				p.reached(i, off)
				if err == io.EOF && off == size {
					return
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	grown := int64(peak()) - int64(before.HeapAlloc)
	for i, err := range errs {
		if err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
	}
	t.Logf("heap grew by at most %.1f MiB streaming %d MiB to %d readers", float64(grown)/(1<<20), size>>20, readers)
	if grown > 24<<20 {
		t.Errorf("the heap grew by %d MiB, want well under the body's %d MiB", grown>>20, size>>20)
	}
}

// sampleHeap samples HeapAlloc every few milliseconds until the returned
// function is called, which returns the highest sample.
func sampleHeap() func() uint64 {
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}
