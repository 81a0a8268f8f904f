package heedgrpc_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/heedgrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// healthServer is the gRPC server of the tests: grpc's health service,
// whose Check and Watch record when each credential's calls arrive and
// answer SERVING, or the error forced for that credential's next call.
type healthServer struct {
	grpc_health_v1.UnimplementedHealthServer
	mu       sync.Mutex // guards the fields below
	arrivals map[string][]time.Time
	forced   map[string][]error
	// refusedAt is when each credential's latest forced error was sent.
	refusedAt map[string]time.Time
}

// newServer starts a healthServer on a loopback port and returns it with
// its address; it stops when the test ends.
func newServer(t testing.TB) (*healthServer, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &healthServer{arrivals: map[string][]time.Time{}, forced: map[string][]error{}, refusedAt: map[string]time.Time{}}
	srv := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return hs, lis.Addr().String()
}

// credOf returns the authorization metadata of an incoming call.
func credOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// arrive records a call of cred and returns the error forced for it, if
// any.
func (s *healthServer) arrive(cred string) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arrivals[cred] = append(s.arrivals[cred], now)
	q := s.forced[cred]
	if len(q) == 0 {
		return nil
	}
	s.forced[cred] = q[1:]
	s.refusedAt[cred] = now
	return q[0]
}

// force makes the next calls of cred fail with errs, one each.
func (s *healthServer) force(cred string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[cred] = append(s.forced[cred], errs...)
}

// calls returns when cred's calls arrived.
func (s *healthServer) calls(cred string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals[cred]...)
}

// refused returns when cred's latest forced error was sent.
func (s *healthServer) refused(cred string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusedAt[cred]
}

func (s *healthServer) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	if err := s.arrive(credOf(ctx)); err != nil {
		if err := forcedError(ctx, err); err != nil {
			return nil, err
		}
	}
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (s *healthServer) Watch(_ *grpc_health_v1.HealthCheckRequest, ss grpc.ServerStreamingServer[grpc_health_v1.HealthCheckResponse]) error {
	if err := s.arrive(credOf(ss.Context())); err != nil {
		return err
	}
	return ss.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

// forcedError returns the error a forced err makes the server answer: err
// itself, but a pushback is RESOURCE_EXHAUSTED with a
// grpc-retry-pushback-ms trailer of pushbackDelay.
func forcedError(ctx context.Context, err error) error {
	if s, ok := err.(slow); ok {
		time.Sleep(time.Duration(s))
		return nil
	}
	if _, ok := err.(pushback); !ok {
		return err
	}
	_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", strconv.FormatInt(pushbackDelay.Milliseconds(), 10)))
	return status.Error(codes.ResourceExhausted, "slow down")
}

// slow is a forced "error" that makes the server answer after it, as it
// should.
type slow time.Duration

func (slow) Error() string { return "slow" }

// exhausted returns a RESOURCE_EXHAUSTED status error with a RetryInfo of
// delay and, when quotaID is not "", a QuotaFailure naming it.
func exhausted(t testing.TB, delay time.Duration, quotaID string) error {
	t.Helper()
	details := []protoadapt.MessageV1{&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}}
	if quotaID != "" {
		details = append(details, &errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject: "project:test", QuotaMetric: "test.googleapis.com/requests", QuotaId: quotaID}}})
	}
	st, err := status.New(codes.ResourceExhausted, "quota exceeded").WithDetails(details...)
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// healthMethods is the base URL path of the health service's methods.
const healthMethods = "/grpc.health.v1.Health/"

// newInterceptor returns an Interceptor for one upstream, named "health",
// governing the health service at addr, with up's other fields.
func newInterceptor(t testing.TB, addr string, up heed.Upstream, store string) *heedgrpc.Interceptor {
	t.Helper()
	up.Name, up.BaseURL = "health", "grpc://"+addr+healthMethods
	cfg := heed.Config{Upstreams: []heed.Upstream{up}}
	if store != "" {
		cfg.Store, cfg.Stores, cfg.FingerprintSecret = store, storesForTests, "a secret every process shares"
	}
	ic, err := heedgrpc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ic.Close() })
	return ic
}

// dial returns a health client of addr through ic (directly when ic is
// nil), closed when the test ends.
func dial(t testing.TB, addr string, ic *heedgrpc.Interceptor) grpc_health_v1.HealthClient {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if ic != nil {
		opts = append(opts, grpc.WithUnaryInterceptor(ic.Unary()), grpc.WithStreamInterceptor(ic.Stream()))
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return grpc_health_v1.NewHealthClient(conn)
}

// as returns ctx carrying cred as its authorization metadata.
func as(ctx context.Context, cred string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", cred)
}

// check makes one Check call as cred.
func check(ctx context.Context, c grpc_health_v1.HealthClient, cred string) error {
	_, err := c.Check(as(ctx, cred), &grpc_health_v1.HealthCheckRequest{})
	return err
}
