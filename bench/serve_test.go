package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/serve"
)

// serveSenders bounds the requests in flight at once in
// BenchmarkServeAddedLatency; every client keeps that many idle
// connections.
const serveSenders = 32

// lateAfter is how late against its schedule a request may start before it
// counts as late: the dispatcher wakes on timers of about 1ms resolution,
// so anything beyond a few ms means the machine could not keep the rate.
const lateAfter = 5 * time.Millisecond

// repoJSON is the upstream's answer, about 200 bytes of a GitHub-like repo.
var repoJSON = []byte(`{"id":1296269,"node_id":"MDEwOlJlcG9zaXRvcnkxMjk2MjY5","name":"Hello-World",` +
	`"full_name":"octocat/Hello-World","private":false,"description":"This your first repo!",` +
	`"fork":false,"stargazers_count":80,"default_branch":"main"}` + "\n")

// The roles of the servers of BenchmarkServeAddedLatency, as
// TestServeHelperProcess takes them from the environment.
const (
	roleUpstream = "upstream"
	roleBaseline = "baseline"
	roleHeed     = "heed"

	roleEnv     = "HEED_BENCH_SERVE_ROLE"
	upstreamEnv = "HEED_BENCH_SERVE_UPSTREAM"
	// profileEnv, when set to a directory, has every server process of
	// the "separate" mode write a CPU profile there, {role}.cpu.out.
	profileEnv = "HEED_BENCH_SERVE_CPUPROFILE"
)

// startFunc starts the server of a role (for the proxies, in front of
// upstream); it is stopped when tb ends.
type startFunc func(tb testing.TB, role, upstream string) runningServer

// runningServer is a server started by a startFunc: its base URL and, when it
// runs in a process of its own, that process's id (0 otherwise).
type runningServer struct {
	url string
	pid int
}

// serveModes are the ways the servers run: "one" is every server in the
// benchmark's process (one runtime and one GC for client, proxies and
// upstream); "separate" is each server in its own process, as heed serve
// runs beside a program, the client staying in the benchmark's.
var serveModes = []struct {
	name  string
	start startFunc
}{{"one", startInProcess}, {"separate", startHelperProcess}}

// startInProcess starts the server of role in an httptest server here.
func startInProcess(tb testing.TB, role, upstream string) runningServer {
	var h http.Handler
	switch role {
	case roleUpstream:
		h = upstreamHandler()
	case roleBaseline:
		h = baselineProxy(tb, upstream)
	case roleHeed:
		h = heedServe(tb, upstream)
	default:
		tb.Fatalf("unknown role %q", role)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return runningServer{url: srv.URL}
}

// startHelperProcess starts the server of role in a process of its own: this
// test binary running TestServeHelperProcess, which prints the server's URL
// and serves until its standard input closes.
func startHelperProcess(tb testing.TB, role, upstream string) runningServer {
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$", "-test.count=1")
	if dir := os.Getenv(profileEnv); dir != "" {
		cmd.Args = append(cmd.Args, "-test.cpuprofile="+filepath.Join(dir, role+".cpu.out"))
	}
	cmd.Env = append(os.Environ(), roleEnv+"="+role, upstreamEnv+"="+upstream)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		tb.Fatalf("%s helper process: got %q, %v; want its URL", role, line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return runningServer{url: strings.TrimSpace(line), pid: cmd.Process.Pid}
}

// processCPU returns the CPU time (user and system) that process pid has
// used, from /proc/{pid}/stat; ok is false where there is none (not
// Linux, or pid 0).
func processCPU(pid int) (cpu time.Duration, ok bool) {
	if pid == 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields 3 (state) and on
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, true
}

// TestServeHelperProcess is not a test: it is the server of
// BenchmarkServeAddedLatency's "separate" mode, in a process of its own.
func TestServeHelperProcess(t *testing.T) {
	role := os.Getenv(roleEnv)
	if role == "" {
		t.Skip("the server process of BenchmarkServeAddedLatency, started by it")
	}
	fmt.Println(startInProcess(t, role, os.Getenv(upstreamEnv)).url)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// upstreamHandler answers every request with repoJSON and the rate-limit
// headers of a real API.
func upstreamHandler() http.Handler {
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-Ratelimit-Limit", "5000")
		h.Set("X-Ratelimit-Remaining", "4999")
		h.Set("X-Ratelimit-Reset", reset)
		h.Set("X-Ratelimit-Used", "1")
		h.Set("X-Ratelimit-Resource", "core")
		h.Set("Content-Length", strconv.Itoa(len(repoJSON)))
		_, _ = w.Write(repoJSON)
	})
}

// baselineProxy returns a plain httputil.ReverseProxy to upstream: SetURL
// and SetXForwarded, as heed serve does, over its own clone of
// http.DefaultTransport (what heed serve's Transport sends through when
// the config names no Base, as under `heed serve`).
func baselineProxy(tb testing.TB, upstream string) http.Handler {
	target, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	out := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(out.CloseIdleConnections)
	return &httputil.ReverseProxy{
		Transport: out,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
	}
}

// heedServe returns heed serve with one upstream, api, at upstream: memory
// store, a configured limit far above any rate the benchmark offers (so no
// request waits), defaults otherwise.
func heedServe(tb testing.TB, upstream string) http.Handler {
	s, err := serve.New(serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{
		Name: "api", BaseURL: upstream,
		Limits: []heed.Limit{{Requests: 1_000_000, Per: time.Second, Burst: 1_000}},
	}}}}, serve.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// servePath is one way from the client to the upstream: what it is called
// in metrics, the URL of the resource through it, its own client, and the
// id of the proxy's process when it has one of its own (0 otherwise).
type servePath struct {
	name   string
	url    string
	client *http.Client
	pid    int
}

// serveRig is the three paths to one upstream: direct, through a plain
// httputil.ReverseProxy (baseline) and through heed serve in route mode
// (heed). admin is heed serve's base URL, for /-/metrics.
type serveRig struct {
	paths []servePath
	admin string
}

// newServeRig starts the upstream, the baseline proxy and heed serve with
// start.
func newServeRig(tb testing.TB, start startFunc) *serveRig {
	up := start(tb, roleUpstream, "")
	base := start(tb, roleBaseline, up.url)
	hs := start(tb, roleHeed, up.url)
	const resource = "/repos/octocat/Hello-World"
	return &serveRig{admin: hs.url, paths: []servePath{
		{"direct", up.url + resource, newServeClient(tb), 0},
		{"baseline", base.url + resource, newServeClient(tb), base.pid},
		{"heed", hs.url + "/api" + resource, newServeClient(tb), hs.pid},
	}}
}

// newServeClient returns a keep-alive client that holds serveSenders idle
// connections; every path gets its own, with the same settings.
func newServeClient(tb testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConns: serveSenders, MaxIdleConnsPerHost: serveSenders, IdleConnTimeout: time.Minute}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get sends one authenticated GET along p and returns the body of its 200.
func (p servePath) get(ctx context.Context) (http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer ghp_benchmarktoken")
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s: got status %d, want 200: %s", p.name, resp.StatusCode, body)
	}
	return resp.Header, body, nil
}

// pathOrders are the six orders of the three paths; the requests of the
// t-th slot triple go in pathOrders[t%6], so that every path is as often
// first, second and third, and next to each of the others.
var pathOrders = [6][3]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}}

// serveRound is one open-loop round: the latencies, indexed by path then
// by slot triple, and how many requests started over lateAfter late.
type serveRound struct {
	lat  [][]time.Duration
	late atomic.Int64
}

// offerLoad sends rate requests a second along each of the three paths for
// d, on a fixed schedule, from at most serveSenders goroutines,
// interleaved: the slots go round the paths in pathOrders. A request's
// latency is from when a sender sends it to when its body is read. The
// first error stops the round.
func offerLoad(ctx context.Context, paths []servePath, rate int, d time.Duration) (*serveRound, error) {
	triples := int(float64(rate) * d.Seconds())
	r := &serveRound{lat: make([][]time.Duration, len(paths))}
	for i := range r.lat {
		r.lat[i] = make([]time.Duration, triples)
	}
	interval := time.Second / time.Duration(rate*len(paths))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range serveSenders {
		wg.Go(func() {
			for k := range slots {
				t := k / len(paths)
				p := pathOrders[t%len(pathOrders)][k%len(paths)]
				sent := time.Now()
				if sent.Sub(start.Add(time.Duration(k)*interval)) > lateAfter {
					r.late.Add(1)
				}
				if _, _, err := paths[p].get(ctx); err != nil {
					cancel(err)
					return
				}
				r.lat[p][t] = time.Since(sent)
			}
		})
	}
	dispatch(ctx, slots, start, interval, triples*len(paths))
	wg.Wait()
	return r, context.Cause(ctx)
}

// dispatch hands slot k to a sender at start + k*interval, or as soon as
// one is free after that, until n slots or ctx's end; then closes slots.
func dispatch(ctx context.Context, slots chan<- int, start time.Time, interval time.Duration, n int) {
	defer close(slots)
	for k := range n {
		if wait := time.Until(start.Add(time.Duration(k) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case slots <- k:
		case <-ctx.Done():
			return
		}
	}
}

// warmPaths sends n requests along each path, one at a time, so that
// connections are open and heed's scope exists before a round.
func warmPaths(ctx context.Context, paths []servePath, n int) error {
	for range n {
		for _, p := range paths {
			if _, _, err := p.get(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// promSum returns the sum of the samples of metric name on heed serve's
// /-/metrics page.
func promSum(ctx context.Context, admin, name string) (float64, error) {
	_, body, err := servePath{"metrics", admin + "/-/metrics", http.DefaultClient, 0}.get(ctx)
	if err != nil {
		return 0, err
	}
	var sum float64
	for line := range strings.Lines(string(body)) {
		sample, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(sample, "#") {
			continue
		}
		if metric, _, _ := strings.Cut(sample, "{"); metric == name {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return 0, fmt.Errorf("metrics line %q: %w", line, err)
			}
			sum += v
		}
	}
	return sum, nil
}

// checkNoWaits returns an error when heed serve made any request wait: the
// benchmark measures heed's cost, not its pacing.
func checkNoWaits(ctx context.Context, admin string) error {
	waits, err := promSum(ctx, admin, "heed_wait_seconds_count")
	if err != nil {
		return err
	}
	if waits != 0 {
		return fmt.Errorf("heed serve made %v requests wait; the limit must be far above the offered rate", waits)
	}
	return nil
}

// BenchmarkServeAddedLatency measures the latency heed serve adds to a
// request over calling the upstream directly, against what a plain
// httputil.ReverseProxy adds, in the same run: one upstream on loopback,
// three paths to it (direct, baseline, heed), each offered rate requests
// a second on a fixed schedule (open loop) for a round of 4 seconds,
// interleaved request by request. It runs with the servers in the
// benchmark's process (procs=one) and each in a process of its own
// (procs=separate). Each b.N iteration is one round; the metrics are over
// all of them: p50 and p99 of each path, the added p50 and p99 of each
// proxy (its percentile minus direct's) and the ratios heed added /
// baseline added. late-share is the share of requests that started over
// lateAfter behind their schedule (near 0 unless the machine could not
// keep the rate).
func BenchmarkServeAddedLatency(b *testing.B) {
	for _, mode := range serveModes {
		for _, rate := range []int{500} {
			b.Run(fmt.Sprintf("procs=%s/rate=%d", mode.name, rate), func(b *testing.B) {
				benchServe(b, newServeRig(b, mode.start), rate, 4*time.Second)
			})
		}
	}
}

// benchServe runs rounds of d at rate along rig's paths and reports the
// metrics.
func benchServe(b *testing.B, rig *serveRig, rate int, d time.Duration) {
	ctx := b.Context()
	if err := warmPaths(ctx, rig.paths, 200); err != nil {
		b.Fatal(err)
	}
	lat := make([][]time.Duration, len(rig.paths))
	var late, sent int64
	cpu0 := pathsCPU(rig.paths)
	for b.Loop() {
		r, err := offerLoad(ctx, rig.paths, rate, d)
		if err != nil {
			b.Fatal(err)
		}
		for i := range lat {
			lat[i] = append(lat[i], r.lat[i]...)
			sent += int64(len(r.lat[i]))
		}
		late += r.late.Load()
	}
	reportCPU(b, rig.paths, cpu0, len(lat[0]))
	if err := checkNoWaits(ctx, rig.admin); err != nil {
		b.Fatal(err)
	}
	reportAdded(b, rig.paths, lat)
	b.ReportMetric(float64(late)/float64(sent), "late-share")
	b.ReportMetric(0, "ns/op") // one op is one round: its length is d by construction
}

// pathsCPU returns the CPU time used so far by the process of each path's
// proxy, where it has one of its own.
func pathsCPU(paths []servePath) map[string]time.Duration {
	m := make(map[string]time.Duration)
	for _, p := range paths {
		if cpu, ok := processCPU(p.pid); ok {
			m[p.name] = cpu
		}
	}
	return m
}

// reportCPU reports the CPU time each proxy's process used per request
// since before, in n requests per path (10ms resolution over the run).
func reportCPU(b *testing.B, paths []servePath, before map[string]time.Duration, n int) {
	for name, cpu := range pathsCPU(paths) {
		b.ReportMetric(micros(cpu-before[name])/float64(n), name+"-cpu-µs/req")
	}
}

// reportAdded reports each path's p50 and p99, what each proxy adds to
// direct's, and the ratio of heed's addition to the baseline's.
func reportAdded(b *testing.B, paths []servePath, lat [][]time.Duration) {
	p50, p99 := make(map[string]float64), make(map[string]float64)
	for i, p := range paths {
		slices.Sort(lat[i])
		p50[p.name], p99[p.name] = micros(percentile(lat[i], 0.50)), micros(percentile(lat[i], 0.99))
		b.ReportMetric(p50[p.name], p.name+"-p50-µs")
		b.ReportMetric(p99[p.name], p.name+"-p99-µs")
	}
	for _, q := range []struct {
		name string
		at   map[string]float64
	}{{"p50", p50}, {"p99", p99}} {
		byProxy, byHeed := q.at["baseline"]-q.at["direct"], q.at["heed"]-q.at["direct"]
		b.ReportMetric(byProxy, "baseline-added-"+q.name+"-µs")
		b.ReportMetric(byHeed, "heed-added-"+q.name+"-µs")
		if byProxy > 0 { // a ratio to nothing or less says nothing
			b.ReportMetric(byHeed/byProxy, "added-"+q.name+"-ratio")
		}
	}
}

// TestServePathsAgree checks, in both modes, that the three paths of
// BenchmarkServeAddedLatency reach the same upstream and hand the client
// the same answer, and that the heed path went through heed serve's
// Transport without waiting.
func TestServePathsAgree(t *testing.T) {
	for _, mode := range serveModes {
		t.Run(mode.name, func(t *testing.T) {
			rig := newServeRig(t, mode.start)
			for _, p := range rig.paths {
				h, body, err := p.get(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(body, repoJSON) {
					t.Errorf("%s: got body %q, want %q", p.name, body, repoJSON)
				}
				if got := h.Get("X-Ratelimit-Remaining"); got != "4999" {
					t.Errorf("%s: got X-Ratelimit-Remaining %q, want 4999", p.name, got)
				}
			}
			if n, err := promSum(t.Context(), rig.admin, "heed_requests_total"); err != nil || n != 1 {
				t.Errorf("got heed_requests_total %v (%v), want 1: the heed path's request", n, err)
			}
			if err := checkNoWaits(t.Context(), rig.admin); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestOfferLoadRecordsEveryRequest checks the load generator: a short
// round records a latency for every slot of every path.
func TestOfferLoadRecordsEveryRequest(t *testing.T) {
	rig := newServeRig(t, startInProcess)
	r, err := offerLoad(t.Context(), rig.paths, 100, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range rig.paths {
		if got := len(r.lat[i]); got != 20 {
			t.Errorf("%s: got %d requests, want 20", p.name, got)
		}
		if j := slices.IndexFunc(r.lat[i], func(d time.Duration) bool { return d <= 0 }); j >= 0 {
			t.Errorf("%s: request %d has no latency", p.name, j)
		}
	}
}
