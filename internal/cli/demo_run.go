package cli

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// demoSettleTimeout bounds how long the demo waits, after a client's
// workers stopped, for the mock to finish counting the answers in flight.
const demoSettleTimeout = time.Second

// demoServer is the demo's mock API, served on a free loopback port. It is
// safe for concurrent use.
type demoServer struct {
	api *mockapi.Server
	// url is the server's base URL, http://127.0.0.1:PORT.
	url    string
	srv    *http.Server
	served chan struct{}
	// inFlight counts the requests being answered, so that a client's
	// counters are read only once every answer is counted.
	inFlight atomic.Int64
}

// startDemoServer serves api on a free port of 127.0.0.1 until close.
func startDemoServer(ctx context.Context, api *mockapi.Server) (*demoServer, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &demoServer{api: api, url: "http://" + ln.Addr().String(), served: make(chan struct{})}
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.served)
		_ = d.srv.Serve(ln) // always an error; http.ErrServerClosed after close
	}()
	return d, nil
}

// serve answers one request with the mock, counting it while in flight.
func (d *demoServer) serve(w http.ResponseWriter, r *http.Request) {
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	d.api.ServeHTTP(w, r)
}

// settle waits until no request is being answered, at most
// demoSettleTimeout: a client may see an answer before the mock has
// counted it.
func (d *demoServer) settle() {
	deadline := time.Now().Add(demoSettleTimeout)
	for d.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// close stops the server at once and waits for it to stop serving.
func (d *demoServer) close() {
	_ = d.srv.Close()
	<-d.served
}

// runDemoClients runs the workload through each client of opts in turn,
// against a fresh mock state each time, and reports what each did. When ctx
// is cancelled it stops the client that is running, skips the rest and
// reports what it measured, marked interrupted.
func runDemoClients(ctx context.Context, opts demoOptions, srv *demoServer, p progress) (demoReport, error) {
	rep := newDemoReport(opts)
	for _, name := range opts.clients {
		if ctx.Err() != nil {
			break
		}
		res, err := runDemoClient(ctx, opts, srv, name, p)
		if err != nil {
			return rep, err
		}
		rep.Clients = append(rep.Clients, res)
	}
	rep.Interrupted = ctx.Err() != nil
	rep.Conclusion = conclude(rep.Clients, quotaWords(opts.scenario))
	return rep, nil
}

// runDemoClient runs the workload through the named client against a
// freshly reset mock and returns what the mock saw.
func runDemoClient(ctx context.Context, opts demoOptions, srv *demoServer, name string, p progress) (demoResult, error) {
	client, err := newDemoClient(name, opts, srv.url)
	if err != nil {
		return demoResult{}, err
	}
	defer client.close()
	srv.api.Reset()
	start := time.Now()
	stop := p.track(name, start, srv.api.Stats)
	calls := runWorkload(ctx, opts, client)
	wall := time.Since(start)
	srv.settle()
	st := srv.api.Stats().Total
	stop(st, wall)
	res := newDemoResult(name, opts, st, calls, wall)
	if opts.scenario == scenarioLLM {
		from, to := steadySpan(start, min(wall, opts.duration))
		res = withTokens(res, st.Tokens, srv.api.TokenUse(mockapi.CredID(llmKey), from, to))
	}
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

// callCounts count the calls of a workload as the calling code saw them.
// They are safe for concurrent use.
type callCounts struct {
	// calls counts the calls that ended before the workload did; ok those
	// of them that ended in a 2xx answer.
	calls, ok atomic.Int64
}

// runWorkload runs opts.workers goroutines that call through c as fast as
// it lets them, until opts.duration has passed or ctx is cancelled, and
// returns when every one has stopped. The end of the duration cancels the
// calls' context rather than being its deadline: a deadline would tell
// heed that a caller gives up at that time, and heed answers a caller who
// could not be sent in time at once, with a synthetic 429.
func runWorkload(ctx context.Context, opts demoOptions, c demoClient) *callCounts {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := time.AfterFunc(opts.duration, cancel)
	defer stop.Stop()
	var n callCounts
	var wg sync.WaitGroup
	for range opts.workers {
		wg.Go(func() { work(ctx, c, &n) })
	}
	wg.Wait()
	return &n
}

// work calls through c until ctx is done. A call cut off by the end of the
// workload is not counted.
func work(ctx context.Context, c demoClient, n *callCounts) {
	for ctx.Err() == nil {
		ok := c.call(ctx)
		if ctx.Err() != nil && !ok {
			return
		}
		n.calls.Add(1)
		if ok {
			n.ok.Add(1)
		}
	}
}
