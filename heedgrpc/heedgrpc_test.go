package heedgrpc_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// storesForTests opens the Redis stores the fleet tests name.
var storesForTests = config.Stores{}

// retryDelayOf returns the RetryInfo delay of err's status, and whether it
// has one.
func retryDelayOf(err error) (time.Duration, bool) {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// errorInfoOf returns the ErrorInfo of err's status, or nil.
func errorInfoOf(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

// TestRetryInfoCoolsTheCredentialDown: after a RESOURCE_EXHAUSTED with a
// RetryInfo of 600ms, the next call of that credential waits it out and
// reaches the server only once it is over, while another credential's
// calls go at once.
func TestRetryInfoCoolsTheCredentialDown(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{}, ""))
	ctx := t.Context()
	const delay = 600 * time.Millisecond
	hs.force("A", exhausted(t, delay, ""))
	err := check(ctx, c, "A")
	if got := status.Code(err); got != codes.ResourceExhausted {
		t.Fatalf("the refused call: got %v, want ResourceExhausted (the server's own error)", err)
	}
	if d, ok := retryDelayOf(err); !ok || d != delay {
		t.Errorf("the refused call's RetryInfo: got %v (%v), want %v", d, ok, delay)
	}
	refused := hs.refused("A")
	start := time.Now()
	if err := check(ctx, c, "B"); err != nil {
		t.Fatalf("credential B: %v", err)
	}
	if waited := time.Since(start); waited > delay/2 {
		t.Errorf("credential B waited %v, want no wait: the cooldown is A's", waited)
	}
	if err := check(ctx, c, "A"); err != nil {
		t.Fatalf("A after the cooldown: %v", err)
	}
	calls := hs.calls("A")
	if len(calls) != 2 {
		t.Fatalf("A reached the server %d times, want 2", len(calls))
	}
	if gap := calls[1].Sub(refused); gap < delay-10*time.Millisecond {
		t.Errorf("A's next call arrived %v after the refusal, want at least the RetryInfo delay %v", gap, delay)
	}
}

// TestPushbackTrailerCoolsDown: grpc-retry-pushback-ms counts as a wait
// too.
func TestPushbackTrailerCoolsDown(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{OnLimit: heed.OnLimitFail}, ""))
	hs.force("A", pushback{})
	if err := check(t.Context(), c, "A"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("the refused call: got %v, want ResourceExhausted", err)
	}
	err := check(t.Context(), c, "A")
	if !errors.Is(err, heed.ErrCooldown) {
		t.Fatalf("the next call: got %v, want heed's cooldown refusal", err)
	}
	if d, ok := retryDelayOf(err); !ok || d <= 0 || d > pushbackDelay {
		t.Errorf("its RetryInfo: got %v (%v), want in (0, %v]", d, ok, pushbackDelay)
	}
	if n := len(hs.calls("A")); n != 1 {
		t.Errorf("A reached the server %d times, want 1", n)
	}
}

// pushbackDelay is what pushback asks for.
const pushbackDelay = 5 * time.Second

// pushback is a forced error the server sends as RESOURCE_EXHAUSTED with
// a grpc-retry-pushback-ms trailer and no RetryInfo (see forcedError).
type pushback struct{}

func (pushback) Error() string { return "pushback" }

// TestRefusalIsAStatus: with on_limit: fail, heed answers a cooling
// credential's calls itself, without reaching the server: a
// RESOURCE_EXHAUSTED with a RetryInfo of the wait left and an ErrorInfo of
// domain heed, which is also a *heed.Refusal. The credential may come from
// per-RPC credentials.
func TestRefusalIsAStatus(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []grpc.CallOption
		ctx  func(context.Context) context.Context
	}{
		{"Metadata", nil, func(ctx context.Context) context.Context { return as(ctx, "A") }},
		{"PerRPCCredentials", []grpc.CallOption{grpc.PerRPCCredentials(token("A"))}, func(ctx context.Context) context.Context { return ctx }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs, addr := newServer(t)
			c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{OnLimit: heed.OnLimitFail}, ""))
			hs.force("A", exhausted(t, time.Minute, ""))
			call := func() error {
				_, err := c.Check(tt.ctx(t.Context()), &grpc_health_v1.HealthCheckRequest{}, tt.opts...)
				return err
			}
			if err := call(); status.Code(err) != codes.ResourceExhausted || errorInfoOf(err) != nil {
				t.Fatalf("the refused call: got %v, want the server's ResourceExhausted", err)
			}
			err := call()
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("the next call: got %v, want ResourceExhausted", err)
			}
			if d, ok := retryDelayOf(err); !ok || d < 50*time.Second || d > time.Minute {
				t.Errorf("its RetryInfo: got %v (%v), want the minute's rest", d, ok)
			}
			ei := errorInfoOf(err)
			if ei.GetDomain() != "heed" || ei.GetReason() != "HEED_COOLDOWN" || ei.GetMetadata()["upstream"] != "health" {
				t.Errorf("its ErrorInfo: got %v, want domain heed, reason HEED_COOLDOWN, upstream health", ei)
			}
			var ref *heed.Refusal
			if !errors.As(err, &ref) || !errors.Is(err, heed.ErrCooldown) || ref.Sent() {
				t.Errorf("got %#v, want it to be heed's *Refusal matching ErrCooldown", err)
			}
			if n := len(hs.calls("A")); n != 1 {
				t.Errorf("A reached the server %d times, want 1", n)
			}
			if err := check(t.Context(), c, "B"); err != nil {
				t.Errorf("credential B: %v, want it unaffected", err)
			}
		})
	}
}

// TestOpenCircuitIsUnavailable: after the breaker's five failures in a
// row (UNAVAILABLE, read as 503), heed answers the next call itself with
// UNAVAILABLE, a RetryInfo of the time the circuit stays open and an
// ErrorInfo HEED_CIRCUIT_OPEN.
func TestOpenCircuitIsUnavailable(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{Breaker: heed.BreakerPolicy{Failures: 5, OpenFor: time.Minute}}, ""))
	down := status.Error(codes.Unavailable, "down")
	hs.force("A", down, down, down, down, down)
	for i := range 5 {
		if err := check(t.Context(), c, "A"); status.Code(err) != codes.Unavailable || errorInfoOf(err) != nil {
			t.Fatalf("call %d: got %v, want the server's Unavailable", i, err)
		}
	}
	err := check(t.Context(), c, "A")
	if status.Code(err) != codes.Unavailable || !errors.Is(err, heed.ErrCircuitOpen) || errorInfoOf(err).GetReason() != "HEED_CIRCUIT_OPEN" {
		t.Fatalf("the call after five failures: got %v, want heed's circuit-open refusal", err)
	}
	if d, ok := retryDelayOf(err); !ok || d < 50*time.Second || d > time.Minute {
		t.Errorf("its RetryInfo: got %v (%v), want the minute the circuit stays open", d, ok)
	}
	if n := len(hs.calls("A")); n != 5 {
		t.Errorf("A reached the server %d times, want 5", n)
	}
}

// TestUpstreamTimeoutIsDeadlineExceeded: a call the upstream's timeout
// cuts off fails with DEADLINE_EXCEEDED.
func TestUpstreamTimeoutIsDeadlineExceeded(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{Timeout: 50 * time.Millisecond}, ""))
	hs.force("A", slow(time.Second))
	err := check(t.Context(), c, "A")
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	if err := check(t.Context(), c, "A"); err != nil {
		t.Errorf("the next call: %v", err)
	}
}

// TestDNSTargetRoutes: a ClientConn of a plain host:port target (the dns
// resolver's) is routed by that host and port.
func TestDNSTargetRoutes(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	ic := newInterceptor(t, addr, heed.Upstream{OnLimit: heed.OnLimitFail}, "")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUnaryInterceptor(ic.Unary()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := grpc_health_v1.NewHealthClient(conn)
	hs.force("A", exhausted(t, time.Minute, ""))
	_ = check(t.Context(), c, "A")
	if err := check(t.Context(), c, "A"); !errors.Is(err, heed.ErrCooldown) {
		t.Errorf("the call after the refusal: got %v, want heed's cooldown refusal", err)
	}
}

// token is per-RPC credentials that send a fixed authorization.
type token string

func (tk token) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(tk)}, nil
}
func (token) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = token("")

// TestPerDayQuotaFailsFast: a RESOURCE_EXHAUSTED for a per-day quota (a
// QuotaFailure quota_id with PerDay, or a delay past cooldown.max) is
// returned at once, with its RetryInfo, and the credential's next call is
// not held back for a day either.
func TestPerDayQuotaFailsFast(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		delay   time.Duration
		quotaID string
	}{
		{"QuotaID", 30 * time.Second, "GenerateRequestsPerDayPerProjectPerModel-FreeTier"},
		{"PastCooldownMax", 10 * time.Minute, "GenerateRequestsPerMinutePerProject"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs, addr := newServer(t)
			// Retried as non-idempotent calls may be, to show it is not retried.
			up := heed.Upstream{Cooldown: heed.CooldownPolicy{Max: time.Minute}, Retry: heed.RetryPolicy{Attempts: 3, NonIdempotent: true}}
			c := dial(t, addr, newInterceptor(t, addr, up, ""))
			hs.force("A", exhausted(t, tt.delay, tt.quotaID), exhausted(t, tt.delay, tt.quotaID))
			for i := range 2 {
				start := time.Now()
				err := check(t.Context(), c, "A")
				if took := time.Since(start); took > 500*time.Millisecond {
					t.Errorf("call %d took %v, want it at once", i, took)
				}
				if status.Code(err) != codes.ResourceExhausted {
					t.Fatalf("call %d: got %v, want ResourceExhausted", i, err)
				}
				if d, ok := retryDelayOf(err); !ok || d != tt.delay {
					t.Errorf("call %d's RetryInfo: got %v (%v), want %v", i, d, ok, tt.delay)
				}
			}
			if n := len(hs.calls("A")); n != 2 {
				t.Errorf("A reached the server %d times, want 2: once per call, no retry", n)
			}
		})
	}
}

// TestPacingHoldsTheLimit: eight goroutines calling as fast as they can
// under a limit of 10 per second reach the server at no more than that,
// and at not much less.
func TestPacingHoldsTheLimit(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	const limit = 10
	c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{Limits: []heed.Limit{{Requests: limit, Per: time.Second}}}, ""))
	ctx, cancel := context.WithCancel(t.Context())
	defer time.AfterFunc(3*time.Second, cancel).Stop()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := check(ctx, c, "A"); err != nil && ctx.Err() == nil {
					t.Errorf("call: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	assertRate(t, hs.calls("A"), limit, time.Second)
}

// assertRate checks that no window of per holds more than limit+1 (the
// burst of one) of calls, and that they went at 80% of limit at least.
func assertRate(t *testing.T, calls []time.Time, limit int, per time.Duration) {
	t.Helper()
	if len(calls) < 2 {
		t.Fatalf("%d calls reached the server, want many", len(calls))
	}
	for i := range calls {
		n := 0
		for j := i; j < len(calls) && calls[j].Sub(calls[i]) < per; j++ {
			n++
		}
		if n > limit+1 {
			t.Fatalf("%d calls within %v from call %d, want at most %d", n, per, i, limit+1)
		}
	}
	span := calls[len(calls)-1].Sub(calls[0])
	rate := float64(len(calls)-1) / span.Seconds() * per.Seconds()
	t.Logf("%d calls over %v: %.2f per %v", len(calls), span, rate, per)
	if rate < 0.8*float64(limit) {
		t.Errorf("%.2f calls per %v, want at least 80%% of %d", rate, per, limit)
	}
}

// TestStreamsArePacedAtStart: streams opened as fast as possible under a
// limit of 5 per second start at that rate, and each is served whole.
func TestStreamsArePacedAtStart(t *testing.T) {
	t.Parallel()
	hs, addr := newServer(t)
	const limit = 5
	c := dial(t, addr, newInterceptor(t, addr, heed.Upstream{Limits: []heed.Limit{{Requests: limit, Per: time.Second}}, Concurrency: 2}, ""))
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			s, err := c.Watch(as(t.Context(), "A"), &grpc_health_v1.HealthCheckRequest{})
			if err != nil {
				t.Errorf("Watch: %v", err)
				return
			}
			for {
				_, err := s.Recv()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Errorf("Recv: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	assertRate(t, hs.calls("A"), limit, time.Second)
}
