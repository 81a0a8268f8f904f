package mockapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// openStream sends GET url with the credential and returns the response
// once its head arrived; the test ends reading its body.
func openStream(t *testing.T, ctx context.Context, url, credential string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readChunk reads the next n bytes of resp's body.
func readChunk(t *testing.T, resp *http.Response, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatalf("reading a chunk of %d bytes: %v", n, err)
	}
	return string(buf)
}

func TestGatedStream(t *testing.T) {
	t.Parallel()
	s, url := newLoopback(t, Config{})
	if _, err := s.SetResourceSize("g", 3000); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, whole := send(t, "GET", url+"/resources/g", "sk-1", nil)
	var streams []*http.Response
	for range 3 {
		streams = append(streams, openStream(t, ctx, url+"/resources/g?chunks=3&gate=1", "sk-1"))
	}
	for k := range 3 {
		for i, resp := range streams {
			if got := readChunk(t, resp, 1000); got != whole[k*1000:(k+1)*1000] {
				t.Fatalf("stream %d, chunk %d: got %q", i, k+1, got)
			}
		}
		if k == 2 {
			break
		}
		// Every stream sent chunk k+1 and holds the next one.
		if err := s.AwaitGate(ctx, 3); err != nil {
			t.Fatalf("AwaitGate after chunk %d: %v", k+1, err)
		}
		if k == 0 {
			if n := s.ReleaseGate(1); n != 3 {
				t.Fatalf("ReleaseGate released %d streams, want 3", n)
			}
			continue
		}
		resp, body := send(t, "POST", url+"/_mock/gate?n=1&wait=3", "", nil)
		if resp.StatusCode != 200 || body != "{\"released\":3}\n" {
			t.Fatalf("POST /_mock/gate: got %d %q, want 200 {\"released\":3}", resp.StatusCode, body)
		}
	}
	for i, resp := range streams {
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Errorf("stream %d after the last chunk: got %q, %v, want the end", i, rest, err)
		}
	}
	if n := statsAfter(t, s, 4).Resources["g"].OK; n != 4 {
		t.Errorf("got %d 200s, want 4", n)
	}
}

func TestChunksWithoutGate(t *testing.T) {
	t.Parallel()
	_, url := newLoopback(t, Config{})
	_, whole := send(t, "GET", url+"/resources/c", "sk-1", nil)
	if resp, body := send(t, "GET", url+"/resources/c?chunks=7", "sk-1", nil); resp.StatusCode != 200 || body != whole {
		t.Errorf("got %d %q in chunks, want 200 %q", resp.StatusCode, body, whole)
	}
	for _, bad := range []string{"chunks=0", "chunks=100000", "chunks=x", "gate=maybe"} {
		if resp, _ := send(t, "GET", url+"/resources/c?"+bad, "sk-1", nil); resp.StatusCode != 400 || resp.Header.Get("Etag") != "" {
			t.Errorf("%s: got %d with ETag %q, want 400 without", bad, resp.StatusCode, resp.Header.Get("Etag"))
		}
	}
	resp, _ := send(t, "POST", url+"/_mock/gate?n=-1", "", nil)
	if resp.StatusCode != 400 {
		t.Errorf("POST /_mock/gate?n=-1: got %d, want 400", resp.StatusCode)
	}
}

func TestStreamCancelled(t *testing.T) {
	t.Parallel()
	s, url := newLoopback(t, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	clientCtx, leave := context.WithCancel(ctx)
	resp := openStream(t, clientCtx, url+"/resources/x?chunks=2&gate=1", "sk-1")
	readChunk(t, resp, 10)
	if err := s.AwaitGate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	leave()
	st := statsAfter(t, s, 1).Resources["x"]
	want := ResourceCounts{Cancelled: 1}
	if st.ResourceCounts != want || st.Credentials[CredID("sk-1")] != want {
		t.Errorf("got %+v, want %+v in total and for sk-1", st, want)
	}
	log := s.Log()
	if len(log) != 1 || log[0].Status != statusClientGone {
		t.Errorf("got log %+v, want one entry of status 499", log)
	}
	if n := s.ReleaseGate(1); n != 0 {
		t.Errorf("ReleaseGate released %d streams after the client left, want 0", n)
	}
	resp2, body := send(t, "GET", url+"/_mock/stats", "", nil)
	var stats Stats
	if err := json.Unmarshal([]byte(body), &stats); err != nil || resp2.StatusCode != 200 || stats.Resources["x"].Cancelled != 1 {
		t.Errorf("GET /_mock/stats: got %d %q, want resources.x.cancelled 1", resp2.StatusCode, body)
	}
}
