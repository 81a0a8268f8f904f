package heedgrpc

import (
	"context"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/heedhq/heed"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Interceptor holds the unary and stream client interceptors of one
// heed.Config and the heed.Transport behind them. It is safe for
// concurrent use. Close it when its ClientConns are done.
type Interceptor struct {
	t *heed.Transport
	// cooldownMax is each upstream's cooldown.max, by name: a wait beyond
	// it is a per-day quota's.
	cooldownMax map[string]time.Duration
	// hosts caches the URL host of each ClientConn target (string to
	// string), see hostOf.
	hosts sync.Map
}

// New returns the interceptors for cfg, after filling its defaults and
// validating it as heed.New does. cfg.Base is ignored: the base of the
// Transport is the gRPC call itself.
func New(cfg heed.Config) (*Interceptor, error) {
	cfg.Base = invocation{}
	t, err := heed.New(cfg)
	if err != nil {
		return nil, err
	}
	ic := &Interceptor{t: t, cooldownMax: make(map[string]time.Duration)}
	for _, u := range cfg.WithDefaults().Upstreams {
		ic.cooldownMax[u.Name] = u.Cooldown.Max
	}
	return ic, nil
}

// Close releases what the Interceptor holds: its Transport's store, when
// it opened it. Calls made after Close fail as the store does.
func (ic *Interceptor) Close() error { return ic.t.Close() }

// Transport returns the heed.Transport the calls go through, to share its
// state with HTTP clients of the same Config (http.Client{Transport: ...}).
func (ic *Interceptor) Transport() *heed.Transport { return ic.t }

// Unary returns the unary client interceptor: each call of a configured
// upstream goes through the Transport (see the package doc); the others go
// straight to invoker.
func (ic *Interceptor) Unary() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		u, name, ok := ic.route(cc, method)
		if !ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		r := &rpc{method: method, cc: cc, req: req, reply: reply, invoker: invoker, cooldownMax: ic.cooldownMax[name]}
		r.opts = append(opts[:len(opts):len(opts)], grpc.Trailer(&r.trailer))
		resp, err := ic.t.RoundTrip(r.request(ctx, u, opts))
		if err == nil {
			_ = resp.Body.Close() // gives the concurrency slot back
		}
		return r.result(resp, err)
	}
}

// Stream returns the stream client interceptor: opening a stream of a
// configured upstream goes through the Transport, which paces it at its
// start and holds its concurrency slot until it ends; the others go
// straight to streamer.
func (ic *Interceptor) Stream() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		u, name, ok := ic.route(cc, method)
		if !ok {
			return streamer(ctx, desc, cc, method, opts...)
		}
		r := &rpc{method: method, cc: cc, desc: desc, streamer: streamer, opts: opts, cooldownMax: ic.cooldownMax[name]}
		resp, err := ic.t.RoundTrip(r.request(ctx, u, opts))
		if err := r.result(resp, err); err != nil {
			if resp != nil {
				_ = resp.Body.Close()
			}
			return nil, err
		}
		return newStream(ctx, r.stream, desc, resp.Body), nil
	}
}

// route returns the URL of a call of method on cc and the name of the
// upstream that governs it; ok is false when none does.
func (ic *Interceptor) route(cc *grpc.ClientConn, method string) (u *url.URL, name string, ok bool) {
	u = &url.URL{Scheme: heed.SchemeGRPC, Host: ic.hostOf(cc), Path: method}
	name, ok = ic.t.Upstream(u)
	return u, name, ok
}

// hostOf returns the URL host of cc's calls: the endpoint of its canonical
// target when that is a host[:port], else "localhost".
func (ic *Interceptor) hostOf(cc *grpc.ClientConn) string {
	target := cc.Target()
	if h, ok := ic.hosts.Load(target); ok {
		return h.(string)
	}
	h := endpointHost(cc.CanonicalTarget())
	ic.hosts.Store(target, h)
	return h
}

// endpointHost returns the endpoint of a canonical target
// ("scheme://[authority]/endpoint") when it is a host[:port], else (a
// unix socket's) "localhost".
func endpointHost(canonical string) string {
	u, err := url.Parse(canonical)
	if err != nil || strings.HasPrefix(u.Scheme, "unix") {
		return "localhost"
	}
	ep := strings.TrimPrefix(u.Path, "/")
	if ep == "" || strings.ContainsAny(ep, "/@?#") {
		return "localhost"
	}
	return ep
}

// rpcKey carries a call's *rpc in its request's context, for invocation.
type rpcKey struct{}

// rpc is one gRPC call on its way through the Transport: what invocation
// needs to make an attempt, and what the latest attempt returned. It is
// used by one goroutine at a time (the Transport makes one attempt after
// the other).
type rpc struct {
	method string
	cc     *grpc.ClientConn
	opts   []grpc.CallOption
	// A unary call's.
	req, reply any
	invoker    grpc.UnaryInvoker
	trailer    metadata.MD
	// A stream's.
	desc     *grpc.StreamDesc
	streamer grpc.Streamer
	stream   grpc.ClientStream
	// err is what the latest attempt returned; failed is set when
	// invocation returned it to the Transport as an error (the caller
	// gave up) rather than as a response.
	err    error
	failed bool
	// cooldownMax is the upstream's cooldown.max.
	cooldownMax time.Duration
}

// request returns the HTTP request the Transport sees for the call: POST
// to u, the outgoing metadata and that of the per-RPC credentials among
// opts as its headers, and r in its context.
func (r *rpc) request(ctx context.Context, u *url.URL, opts []grpc.CallOption) *http.Request {
	md, _ := metadata.FromOutgoingContext(ctx)
	h := make(http.Header, len(md)+1)
	for k, vs := range md {
		h[textproto.CanonicalMIMEHeaderKey(k)] = vs
	}
	for _, o := range opts {
		if c, ok := o.(grpc.PerRPCCredsCallOption); ok && c.Creds != nil {
			m, err := c.Creds.GetRequestMetadata(ctx, "https://"+u.Host+serviceOf(r.method))
			if err != nil {
				continue // the call itself fails with it
			}
			for k, v := range m {
				h.Set(k, v)
			}
		}
	}
	req := &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Header: h, Body: http.NoBody, Proto: "HTTP/2.0", ProtoMajor: 2}
	return req.WithContext(context.WithValue(ctx, rpcKey{}, r))
}

// serviceOf returns "/package.Service" of a full method name, as gRPC
// gives per-RPC credentials their audience.
func serviceOf(method string) string {
	if i := strings.LastIndexByte(method, '/'); i > 0 {
		return method[:i]
	}
	return method
}

// stream is a ClientStream that gives its concurrency slot back (closes
// the Transport's response body) when it ends.
type stream struct {
	grpc.ClientStream
	once sync.Once
	body io.Closer
	stop func() bool
	// oneReply is set when the server sends one message: the stream ends
	// with it.
	oneReply bool
}

// newStream wraps cs, whose slot body holds, until it ends or ctx is done.
func newStream(ctx context.Context, cs grpc.ClientStream, desc *grpc.StreamDesc, body io.Closer) *stream {
	s := &stream{ClientStream: cs, body: body, oneReply: !desc.ServerStreams}
	s.stop = context.AfterFunc(ctx, s.end)
	return s
}

// end gives the slot back, once.
func (s *stream) end() {
	s.once.Do(func() { _ = s.body.Close() })
}

// RecvMsg receives a message; an error (io.EOF included) ends the stream,
// and so does the reply of a stream whose server sends one.
func (s *stream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || s.oneReply {
		s.stop()
		s.end()
	}
	return err
}

// SendMsg sends a message; an error ends the stream.
func (s *stream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil {
		s.stop()
		s.end()
	}
	return err
}
