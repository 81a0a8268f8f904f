package chaos

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
)

// A fleet under load: in-process Transports and heed serve processes that
// share one Redis and one credential, each sending GETs of
// /{its name}/items to the mock, so that the mock's log tells who sent
// each request (see ledger_test.go).

const (
	// fleetSecret is the fingerprint secret every member shares.
	fleetSecret = "chaos-fingerprint-secret-0123456789"
	// fleetToken is the credential every member sends.
	fleetToken = "chaos-token"
	// sampleEvery is how often the sampler asks each member whether its
	// store is down.
	sampleEvery = 50 * time.Millisecond
	// askTimeout bounds one such question.
	askTimeout = 2 * time.Second
)

// member is one process of the fleet: a Transport in this process or a
// heed serve process.
type member struct {
	name string
	// rt sends the member's requests: the Transport itself, or a plain
	// http.Transport to heed serve's route mode.
	rt   http.RoundTripper
	base string // the requests go to base + "/" + name + "/items"
	// storeDown reports whether the member answers from its fallback
	// (Snapshot.StoreDown, heed serve's /-/state).
	storeDown func(context.Context) (bool, error)
	close     func()
	proc      *serveProc // nil for a Transport
}

// newTransportMember returns a Transport on the Redis at storeAddr
// (through a proxy or not), on the upstream at mockURL, paced at limit
// requests a second shared by the fleet, closed when the test ends.
func newTransportMember(t *testing.T, name, storeAddr, mockURL string, limit int64) *member {
	t.Helper()
	tr, err := heed.New(heed.Config{
		Store: "redis://" + storeAddr + "/0", Stores: config.Stores{}, FingerprintSecret: fleetSecret,
		Upstreams: []heed.Upstream{{Name: "mock", BaseURL: mockURL, Limits: []heed.Limit{{Requests: limit, Per: time.Second}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{name: name, rt: tr, base: mockURL}
	m.storeDown = func(ctx context.Context) (bool, error) { return tr.Snapshot(ctx).StoreDown, nil }
	var once sync.Once
	m.close = func() {
		once.Do(func() {
			if err := tr.Close(); err != nil {
				t.Errorf("closing %s: %v", name, err)
			}
		})
	}
	t.Cleanup(m.close)
	return m
}

// fleetServeConfig is heed serve's config for a member of the fleet.
func fleetServeConfig(storeAddr, mockURL string, limit int64) string {
	return fmt.Sprintf(`store: redis://%s/0
fingerprint_secret: %s
upstreams:
  - name: mock
    base_url: %s
    limits: [{requests: %d, per: 1s}]
`, storeAddr, fleetSecret, mockURL, limit)
}

// newServeMember starts heed serve as a member of the fleet.
func newServeMember(t *testing.T, name, dir, storeAddr, mockURL string, limit int64) *member {
	t.Helper()
	p := startServe(t, name, dir, fleetServeConfig(storeAddr, mockURL, limit))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	admin := &http.Client{Transport: &http.Transport{}, Timeout: askTimeout}
	m := &member{name: name, rt: tr, base: p.url + "/mock", proc: p}
	m.storeDown = func(ctx context.Context) (bool, error) {
		st, err := p.state(ctx, admin)
		return st.StoreDown, err
	}
	m.close = func() {
		tr.CloseIdleConnections()
		admin.CloseIdleConnections()
	}
	t.Cleanup(m.close)
	return m
}

// memberOf returns the member name in a path the fleet sends,
// /{name}/items.
func memberOf(path string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return name
}

// tally counts the answers one member's callers got.
type tally struct {
	Sent, OK, Synthetic, Errors int
	Other                       map[int]int // statuses other than 200
	FirstErr                    string
}

// load is every member's workers sending requests until stopped.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards tallies
	tallies map[string]*tally
}

// startLoad starts workers goroutines per member, each sending one
// request after another with fleetToken until stop. A request that waits
// (a cooldown, the pace) waits; that is the point.
func startLoad(members []*member, workers int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, tallies: make(map[string]*tally)}
	for _, m := range members {
		l.tallies[m.name] = &tally{Other: map[int]int{}}
		for range workers {
			l.wg.Go(func() {
				for ctx.Err() == nil {
					l.count(m.name, ctx, send(ctx, m.rt, m.base+"/"+m.name+"/items", fleetToken))
				}
			})
		}
	}
	return l
}

// answer is how one request ended.
type answer struct {
	status    int
	synthetic string
	err       error
}

// send sends one GET with a bearer token through rt, reads the answer to
// the end and closes it.
func send(ctx context.Context, rt http.RoundTripper, url, token string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return answer{err: err}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return answer{status: resp.StatusCode, synthetic: resp.Header.Get(heed.SyntheticHeader), err: err}
}

// count tallies a; an error after stop is not counted.
func (l *load) count(name string, ctx context.Context, a answer) {
	if a.err != nil && ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.tallies[name]
	c.Sent++
	switch {
	case a.err != nil:
		c.Errors++
		if c.FirstErr == "" {
			c.FirstErr = a.err.Error()
		}
	case a.synthetic != "":
		c.Synthetic++
	case a.status == http.StatusOK:
		c.OK++
	default:
		c.Other[a.status]++
	}
}

// stop ends the load and returns each member's tally.
func (l *load) stop() map[string]tally {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]tally, len(l.tallies))
	for name, c := range l.tallies {
		out[name] = *c
	}
	return out
}

// checkTallies fails t for any answer but a 200: with on_store_error open
// and on_limit wait, a fault in the store or a cooldown must cost callers
// time, never an error. It fails t, too, for a member no answer reached.
func checkTallies(t *testing.T, tallies map[string]tally) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(tallies)) {
		c := tallies[name]
		if c.Errors > 0 || c.Synthetic > 0 || len(c.Other) > 0 {
			t.Errorf("%s: %d requests, %d errors (the first: %s), %d synthetic answers, other statuses %v; want every answer a 200",
				name, c.Sent, c.Errors, c.FirstErr, c.Synthetic, c.Other)
		}
		if c.OK == 0 {
			t.Errorf("%s: no request answered", name)
		}
	}
}

// sample is one answer to "is your store down?".
type sample struct {
	at   time.Time
	down bool // or the question failed
}

// sampler asks every member, every sampleEvery, whether its store is
// down, and keeps the answers.
type sampler struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards samples and failed
	samples map[string][]sample
	failed  map[string]int
}

// startSampler starts asking.
func startSampler(members []*member) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{cancel: cancel, samples: make(map[string][]sample), failed: make(map[string]int)}
	for _, m := range members {
		s.wg.Go(func() {
			for ctx.Err() == nil {
				ask, cancel := context.WithTimeout(ctx, askTimeout)
				at := time.Now()
				down, err := m.storeDown(ask)
				cancel()
				if ctx.Err() != nil {
					return
				}
				s.add(m.name, sample{at: at, down: down || err != nil}, err != nil)
				select {
				case <-ctx.Done():
				case <-time.After(sampleEvery):
				}
			}
		})
	}
	return s
}

// add keeps one answer.
func (s *sampler) add(name string, x sample, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples[name] = append(s.samples[name], x)
	if failed {
		s.failed[name]++
	}
}

// latest reports whether every member's last answer since t says down
// (want true) or sharing (want false), and whether every member has
// answered since t.
func (s *sampler) all(since time.Time, down bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, xs := range s.samples {
		if len(xs) == 0 {
			return false
		}
		last := xs[len(xs)-1]
		if last.at.Before(since) || last.down != down {
			return false
		}
	}
	return len(s.samples) > 0
}

// waitAll waits up to d until every member says its store is down (down
// true) or that it shares (down false), asking from now on, and returns
// how long that took; it fails t when d passes first.
func (s *sampler) waitAll(t *testing.T, d time.Duration, down bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !s.all(start, down) {
		if time.Since(start) > d {
			t.Fatalf("waited %v for every member to say its store is down=%v; last answers: %s", d, down, s.last())
		}
		time.Sleep(sampleEvery / 2)
	}
	return time.Since(start)
}

// downBetween returns the members that said their store was down at any
// answer in [from, to), with how many such answers.
func (s *sampler) downBetween(from, to time.Time) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int)
	for name, xs := range s.samples {
		for _, x := range xs {
			if x.down && !x.at.Before(from) && x.at.Before(to) {
				out[name]++
			}
		}
	}
	return out
}

// last describes each member's last answer.
func (s *sampler) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(s.samples)) {
		xs := s.samples[name]
		if len(xs) > 0 {
			fmt.Fprintf(&b, "%s down=%v at %s; ", name, xs[len(xs)-1].down, xs[len(xs)-1].at.Format("15:04:05.000"))
		}
	}
	return b.String()
}

// stop ends the questions and returns every member's answers, and how many
// questions failed.
func (s *sampler) stop() (map[string][]sample, map[string]int) {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.failed
}
