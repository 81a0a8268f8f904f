package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
)

// goroutines is how many goroutines make decisions at once in
// BenchmarkRedisDecisions, each holding its own connection of the pool.
const goroutines = 64

// benchScope is the one key every contender decides on.
const benchScope = "acme/github/3fa9c0de"

// rateLimit is one limit, said once and handed to every contender in its
// own terms: requests per per, with burst of them back to back.
type rateLimit struct {
	requests int
	per      time.Duration
	burst    int
}

// decideFunc makes one decision against Redis and reports whether it
// allowed the request.
type decideFunc func(ctx context.Context) (allowed bool, err error)

// contender is a way of deciding against Redis: name, and how to build its
// decision over a client under a limit.
type contender struct {
	name    string
	decider func(client *goredis.Client, l rateLimit) (decideFunc, error)
}

// contenders are the rate limiters measured against each other; each one
// decides on benchScope under the limit it is given. A contender is one
// line, e.g. {"heed_batch64", heedDecider(redis.Options{Batch: 64})}.
var contenders = []contender{
	// heed as it is: concurrent Acquires pipelined, no leasing.
	{"heed", heedDecider(redis.Options{})},
	// heed as it was before pipelining: one round trip per Acquire.
	{"heed_unpipelined", heedDecider(redis.Options{Pipeline: 1})},
	{"redis_rate", redisRateDecider},
	// heed with local leasing: up to 10 admissions per round trip.
	{"heed_lease10", heedDecider(redis.Options{Batch: 10})},
	// heed under a request limit and three token limits, as an LLM API
	// has them, each request costing tokens of every kind.
	{"heed_llm", llmDecider(false)},
	// The same, each allowed request then settling what it really cost.
	{"heed_llm_settle", llmDecider(true)},
}

// llmCost is what one request of heed_llm costs: few tokens, so that an
// open limit of tokens stays open (a GCRA counts at most one unit a µs).
var llmCost = store.Cost{Requests: 1, Tokens: 6, InputTokens: 2, OutputTokens: 4}

// llmDelta is what heed_llm_settle settles: fewer output tokens than
// reserved, as an answer shorter than max_tokens.
var llmDelta = store.Cost{Tokens: -3, OutputTokens: -3}

// baseline is measured beside the contenders: a PING, the least a round
// trip costs, which "allows" every request.
var baseline = contender{"ping", func(client *goredis.Client, _ rateLimit) (decideFunc, error) {
	return func(ctx context.Context) (bool, error) { return true, client.Ping(ctx).Err() }, nil
}}

// heedDecider returns heed's Redis store with opts: one Acquire under one
// limit on one scope.
func heedDecider(opts redis.Options) func(*goredis.Client, rateLimit) (decideFunc, error) {
	return func(client *goredis.Client, l rateLimit) (decideFunc, error) {
		g, err := limit.NewGCRA(int64(l.requests), l.per, int64(l.burst), 0)
		if err != nil {
			return nil, err
		}
		s := redis.New(client, opts)
		req := store.Request{Scope: benchScope, Limits: []store.Limit{{Key: "0", GCRA: g}}}
		return func(ctx context.Context) (bool, error) {
			grant, err := s.Acquire(ctx, req)
			return grant.Allowed, err
		}, nil
	}
}

// llmDecider returns heed's Redis store deciding one Acquire under the
// limit l in requests and, beside it, limits of tokens, input tokens and
// output tokens that bind at the same rate for requests of llmCost; with
// settle, each allowed request also settles llmDelta.
func llmDecider(settle bool) func(*goredis.Client, rateLimit) (decideFunc, error) {
	return func(client *goredis.Client, l rateLimit) (decideFunc, error) {
		var limits []store.Limit
		for u := store.UnitRequests; u <= store.UnitOutputTokens; u++ {
			n := llmCost.Of(u)
			g, err := limit.NewGCRA(int64(l.requests)*n, l.per, min(int64(l.burst)*n, 1<<20), 0)
			if err != nil {
				return nil, err
			}
			limits = append(limits, store.Limit{Key: u.String(), GCRA: g, Unit: u})
		}
		// A settlement rides on the next decision's round trip, as it does
		// between back-to-back decisions; the default 2 ms before one goes
		// alone would let a loaded machine's scheduling decide which
		// round trip it takes (and TestContendersDecide count it twice).
		s := redis.New(client, redis.Options{SettleDelay: time.Second})
		req := store.Request{Scope: benchScope, Limits: limits, Cost: llmCost}
		set := store.Settlement{Scope: benchScope, Limits: limits, Delta: llmDelta}
		return func(ctx context.Context) (bool, error) {
			grant, err := s.Acquire(ctx, req)
			if err != nil || !grant.Allowed || !settle {
				return grant.Allowed, err
			}
			return true, s.Settle(ctx, set)
		}, nil
	}
}

// redisRateDecider returns go-redis/redis_rate's Limiter.Allow under the
// same GCRA: Rate per Period, Burst back to back.
func redisRateDecider(client *goredis.Client, l rateLimit) (decideFunc, error) {
	limiter := redis_rate.NewLimiter(client)
	lim := redis_rate.Limit{Rate: l.requests, Period: l.per, Burst: l.burst}
	return func(ctx context.Context) (bool, error) {
		res, err := limiter.Allow(ctx, benchScope, lim)
		if err != nil {
			return false, err
		}
		return res.Allowed > 0, nil
	}, nil
}

// newClient returns a go-redis client with the options every contender
// gets, and the hook that counts its round trips.
func newClient(addr string) (*goredis.Client, *roundTrips) {
	client := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: goroutines})
	rt := new(roundTrips)
	client.AddHook(rt)
	return client, rt
}

// roundTrips is a go-redis hook that counts round trips: each command and
// each pipeline sent is one. It is safe for concurrent use.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// fillPool opens n connections in client's pool and leaves them idle, so
// that no dial or connection handshake happens while a benchmark is timed.
func fillPool(ctx context.Context, client *goredis.Client, n int) error {
	conns := make([]*goredis.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	for i := range conns {
		conns[i] = client.Conn()
		if err := conns[i].Ping(ctx).Err(); err != nil {
			return err
		}
	}
	return nil
}

// commandCalls returns how many commands the server has run, from INFO
// commandstats: the sum of calls over every cmdstat_ line but INFO's own,
// which are the benchmark asking. Commands that scripts run count too.
func commandCalls(ctx context.Context, admin *goredis.Client) (int64, error) {
	info, err := admin.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var sum int64
	for line := range strings.Lines(info) {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		calls, _, _ := strings.Cut(stats, ",")
		n, err := strconv.ParseInt(strings.TrimPrefix(calls, "calls="), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("commandstats line %q: %w", line, err)
		}
		sum += n
	}
	return sum, nil
}

// serverCPU returns the CPU time redis-server has used, user and system,
// from INFO cpu.
func serverCPU(ctx context.Context, admin *goredis.Client) (time.Duration, error) {
	info, err := admin.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var sum float64
	for line := range strings.Lines(info) {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "used_cpu_user" && name != "used_cpu_sys") {
			continue
		}
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu line %q: %w", line, err)
		}
		sum += secs
	}
	return time.Duration(sum * float64(time.Second)), nil
}

// decideConcurrently makes len(lat) decisions from goroutines goroutines
// that share them, writes each decision's latency into lat, and returns how
// many were allowed. The first error stops every goroutine.
func decideConcurrently(ctx context.Context, decide decideFunc, lat []time.Duration) (allowed int64, err error) {
	n := int64(len(lat))
	var next, ok atomic.Int64
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for w := range goroutines {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				start := time.Now()
				yes, err := decide(ctx)
				lat[i] = time.Since(start)
				if err != nil {
					errs[w] = err
					next.Store(n)
					return
				}
				if yes {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return ok.Load(), errors.Join(errs...)
}

// percentile returns the p-th quantile (0 < p <= 1) of sorted, by nearest
// rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// micros returns d in microseconds.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkRedisDecisions makes rate-limit decisions from 64 goroutines
// against one private redis-server, for heed's Redis store and for
// go-redis/redis_rate under the same limit on one key, with a PING beside
// them. Each contender gets its own client with the same options, its pool
// filled and its script loaded before the timer starts. The limit "open"
// allows every decision; "contended" denies most of them. Sub-benchmarks
// are named limit=…/contender=…, so that benchstat -col /contender puts the
// contenders side by side.
func BenchmarkRedisDecisions(b *testing.B) {
	addr := testenv.Redis(b)
	admin := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 1})
	b.Cleanup(func() { _ = admin.Close() })
	for _, sc := range []struct {
		name  string
		limit rateLimit
	}{
		{"open", rateLimit{requests: 1_000_000, per: time.Second, burst: 1_000_000}},
		{"contended", rateLimit{requests: 1_000, per: time.Second, burst: 10}},
	} {
		b.Run("limit="+sc.name, func(b *testing.B) {
			for _, c := range append([]contender{baseline}, contenders...) {
				b.Run("contender="+c.name, func(b *testing.B) { benchDecisions(b, addr, admin, c, sc.limit) })
			}
		})
	}
}

// benchDecisions measures one contender under l and reports decisions/s,
// the p50 and p99 latency of a decision, the share allowed, and the Redis
// commands, round trips and redis-server CPU time each decision cost.
func benchDecisions(b *testing.B, addr string, admin *goredis.Client, c contender, l rateLimit) {
	ctx := b.Context()
	client, rt := newClient(addr)
	defer func() { _ = client.Close() }()
	decide, err := c.decider(client, l)
	if err != nil {
		b.Fatal(err)
	}
	if err := fillPool(ctx, client, goroutines); err != nil {
		b.Fatal(err)
	}
	for range 2 { // loads the scripts (acquire, then settle)
		if _, err := decide(ctx); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	calls0, err := commandCalls(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	cpu0, err := serverCPU(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	rt0 := rt.n.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	allowed, err := decideConcurrently(ctx, decide, lat)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	trips := rt.n.Load() - rt0
	calls1, err := commandCalls(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	cpu1, err := serverCPU(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	if c.name != baseline.name { // a PING allows everything
		if err := checkAllowed(allowed, int64(b.N), elapsed, l); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "decisions/s")
	b.ReportMetric(micros(percentile(lat, 0.50)), "p50-µs")
	b.ReportMetric(micros(percentile(lat, 0.99)), "p99-µs")
	b.ReportMetric(float64(allowed)/n, "allowed/decision")
	b.ReportMetric(float64(calls1-calls0)/n, "cmds/decision")
	b.ReportMetric(float64(trips)/n, "roundtrips/decision")
	b.ReportMetric(micros(cpu1-cpu0)/n, "server-cpu-µs/decision")
}

// checkAllowed returns an error unless allowed of n decisions in elapsed
// is what l lets through: at most its burst plus its rate over elapsed
// (and 20ms more, what local leasing may take ahead; see the store/redis
// doc), and at least a quarter of its rate over elapsed (a loose bound: on
// 2 busy cores a round trip can stall), or all n when that is more than n
// (an open limit).
func checkAllowed(allowed, n int64, elapsed time.Duration, l rateLimit) error {
	rate := float64(l.requests) / l.per.Seconds()
	most := int64(l.burst) + int64(rate*(elapsed+2*redis.DefaultBatchAhead).Seconds()) + 1
	least := min(n, int64(rate*elapsed.Seconds()/4))
	if allowed > most || allowed < least {
		return fmt.Errorf("%d of %d decisions allowed in %v under %d per %v (burst %d), want %d to %d",
			allowed, n, elapsed, l.requests, l.per, l.burst, least, most)
	}
	return nil
}

// TestContendersDecide checks that every contender makes real decisions
// against a real server: a limit of 3 a minute allows 3 and denies the
// 4th, and once its scripts are loaded no decision takes more than one
// round trip, a settlement included (a NOSCRIPT retry would be two; local
// leasing may take none).
func TestContendersDecide(t *testing.T) {
	addr := testenv.Redis(t)
	for _, c := range contenders {
		t.Run(c.name, func(t *testing.T) {
			client, rt := newClient(addr)
			t.Cleanup(func() { _ = client.Close() })
			if err := client.FlushAll(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			decide, err := c.decider(client, rateLimit{requests: 3, per: time.Minute, burst: 3})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				before := rt.n.Load()
				allowed, err := decide(t.Context())
				if err != nil {
					t.Fatalf("decision %d: %v", i+1, err)
				}
				if want := i < 3; allowed != want {
					t.Errorf("decision %d: got allowed %v, want %v", i+1, allowed, want)
				}
				// The first decision loads acquire.lua; the second, of
				// a contender that settles, settle.lua too.
				if trips := rt.n.Load() - before; i > 1 && trips > 1 {
					t.Errorf("decision %d: got %d round trips, want at most 1", i+1, trips)
				}
			}
		})
	}
}
