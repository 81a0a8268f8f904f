package coalesce_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"github.com/heedhq/heed/coalesce"
)

// BenchmarkDoAlone: one caller, the common case; the added cost of Do
// over calling fetch directly (which allocates its response here). With a
// context that never ends (Background), fetch runs in the caller's
// goroutine; with one that may end (a server request's), in a new one,
// and the lone body watches the context.
func BenchmarkDoAlone(b *testing.B) {
	fetch := func(context.Context) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	}
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"Background", context.Background()}, {"Cancellable", cancellable}} {
		b.Run(bc.name, func(b *testing.B) {
			g := coalesce.New(coalesce.Options{})
			b.ReportAllocs()
			for b.Loop() {
				resp, _, err := g.Do(bc.ctx, "GET https://api.example.com/v1/items", fetch)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkDoShared: one flight of 8 callers per op, each reading a 4 KiB
// body to its end; it includes starting the 8 goroutines and waiting for
// them to join.
func BenchmarkDoShared(b *testing.B) {
	const callers = 8
	body := pattern(4 << 10)
	g := coalesce.New(coalesce.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		answer := make(chan struct{})
		fetch := func(context.Context) (*http.Response, error) {
			<-answer
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body))}, nil
		}
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				resp, _, err := g.Do(ctx, "k", fetch)
				if err != nil {
					b.Error(err)
					return
				}
				if n, _ := io.Copy(io.Discard, resp.Body); n != int64(len(body)) {
					b.Errorf("read %d bytes, want %d", n, len(body))
				}
				resp.Body.Close()
			})
		}
		for coalesce.Callers(g, "k") < callers {
			runtime.Gosched()
		}
		close(answer)
		wg.Wait()
	}
}
