package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/llm/tiktoken"
	"github.com/heedhq/heed/metrics/prom"
)

// DefaultListen is where heed serve listens when the config does not say.
const DefaultListen = "127.0.0.1:8700"

// ErrAdminTokenRequired is returned by CheckListen, New and Reload for a
// listen address beyond loopback with no admin_token.
var ErrAdminTokenRequired = errors.New("serve: admin_token is required when listen is not a loopback address")

// ErrAPITokensRequired is returned by CheckListen, New and Reload for a
// listen address beyond loopback with no api_tokens: route mode, the
// forward proxy and the job API would serve whoever reaches the port.
var ErrAPITokensRequired = errors.New("serve: api_tokens is required when listen is not a loopback address " +
	"(route mode, the forward proxy and the job API would be open to whoever reaches the port; clients send Heed-Token: <token>)")

// Options are what a Server takes besides the config.
type Options struct {
	// Logger receives heed serve's and the Transport's log lines; nil
	// means discard.
	Logger *slog.Logger
	// Now is the clock of the dashboard's history; nil means time.Now.
	Now func() time.Time
	// RetireAfter bounds how long a config replaced by Reload keeps serving
	// the requests it had; 0 means 30 seconds.
	RetireAfter time.Duration
}

// Server is heed serve's handler: routes, the forward proxy and the admin
// surface over one heed Transport, which Reload replaces. Make one with
// New; it is safe for concurrent use.
type Server struct {
	opts    Options
	listen  string // the address the first config listens on, for Reload
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *prom.Metrics
	hist    *history
	admin   http.Handler
	gen     atomic.Pointer[generation]
	// jobs and jobsAPI serve /v1/jobs when the config has a jobs section;
	// jobsGuarded is jobsAPI behind heed serve's checks.
	jobs        *jobs.Engine
	jobsAPI     http.Handler
	jobsGuarded http.Handler

	retiring sync.WaitGroup
	// tokenizer counts OpenAI input tokens exactly, for every config;
	// tokenizerLoad loads its encodings once, in the background, when a
	// config first prices requests as OpenAI's.
	tokenizer     *tiktoken.Tokenizer
	tokenizerLoad sync.Once
}

// loadTokenizer starts loading the tokenizer's encodings (about 100ms
// and 10 MB of heap) when cfg has an upstream priced as openai, so that
// its first request does not wait for them.
func (s *Server) loadTokenizer(cfg Config) {
	for _, u := range cfg.Upstreams {
		if v, err := u.Pricing(); err == nil && v == llm.OpenAI {
			s.tokenizerLoad.Do(func() { go s.tokenizer.Load() })
			return
		}
	}
}

// generation is one config in force: its Transport and upstreams.
type generation struct {
	cfg    Config
	tokens tokens
	t      *heed.Transport
	bases  map[string]*url.URL // by upstream name
	names  []string            // sorted
	// classes are the priority classes of each upstream with fair shares.
	classes map[string][]string
	proxy   *httputil.ReverseProxy
	// active counts the requests using this generation.
	active atomic.Int64
}

// New returns a Server for cfg (after its defaults and validation, see
// Config.Validate, and CheckListen's rules). cfg.Metrics and cfg.Logger are
// set by the Server. cfg.Listen is where the Server takes it listens: the
// tokens it asks for follow from it.
func New(cfg Config, opts Options) (*Server, error) {
	listen, err := CheckListen(cfg)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetireAfter <= 0 {
		opts.RetireAfter = 30 * time.Second
	}
	s := &Server{opts: opts, listen: listen, log: opts.Logger, reg: prometheus.NewRegistry(), hist: newHistory(opts.Now),
		tokenizer: new(tiktoken.Tokenizer)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	m, err := prom.New(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g, err := s.newGeneration(cfg)
	if err != nil {
		return nil, err
	}
	s.gen.Store(g)
	if cfg.Jobs != nil {
		if err := s.openJobs(cfg); err != nil {
			_ = g.t.Close()
			return nil, err
		}
		s.jobsGuarded = s.guardJobs(s.jobsAPI)
	}
	s.admin = s.adminHandler()
	return s, nil
}

// CheckListen returns the address a config listens on, and an error when
// it is beyond loopback without an admin token (ErrAdminTokenRequired) or
// without API tokens (ErrAPITokensRequired), both when both are missing.
func CheckListen(cfg Config) (string, error) {
	addr := cfg.Listen
	if addr == "" {
		addr = DefaultListen
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("serve: listen %q: %w", addr, err)
	}
	if isLoopback(host) {
		return addr, nil
	}
	var errs []error
	if cfg.AdminToken == "" {
		errs = append(errs, fmt.Errorf("%w (listen %q)", ErrAdminTokenRequired, addr))
	}
	if len(cfg.APITokens) == 0 {
		errs = append(errs, fmt.Errorf("%w (listen %q)", ErrAPITokensRequired, addr))
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return addr, nil
}

// newGeneration validates cfg and builds its Transport and routes.
func (s *Server) newGeneration(cfg Config) (*generation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Metrics = tee{s.metrics, s.hist}
	cfg.Logger = s.log
	if cfg.Tokenizer == nil {
		cfg.Tokenizer = s.tokenizer
		s.loadTokenizer(cfg)
	}
	t, err := heed.New(cfg.Config)
	if err != nil {
		return nil, err
	}
	g := &generation{cfg: cfg, tokens: newTokens(cfg), t: t, bases: make(map[string]*url.URL), classes: fairClasses(cfg.Config)}
	for _, u := range cfg.Upstreams {
		base, err := url.Parse(u.BaseURL)
		if err != nil { // Validate checked it; keep the error rather than panic
			_ = t.Close()
			return nil, fmt.Errorf("serve: upstream %q: %w", u.Name, err)
		}
		g.bases[u.Name] = base
		g.names = append(g.names, u.Name)
	}
	slices.Sort(g.names)
	g.proxy = &httputil.ReverseProxy{
		Transport:     t,
		FlushInterval: 100 * time.Millisecond, // text/event-stream is flushed at once regardless
		ErrorHandler:  s.proxyError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return g, nil
}

// Reload puts cfg in force for new requests. The config it replaces keeps
// serving the requests it had, for up to Options.RetireAfter, and is then
// closed. On error the config in force stays: cfg must meet CheckListen's
// rules for the address the Server listens on, whatever cfg.Listen says (a
// new one takes effect at a restart).
func (s *Server) Reload(cfg Config) error {
	inForce := cfg
	inForce.Listen = s.listen
	if _, err := CheckListen(inForce); err != nil {
		return err
	}
	g, err := s.newGeneration(cfg)
	if err != nil {
		return err
	}
	if addr, _ := CheckListen(cfg); addr != s.listen {
		s.log.Warn("heed serve: listen changed; it takes effect after a restart", "listen", s.listen)
	}
	old := s.gen.Swap(g)
	s.retire(old)
	if s.jobs != nil {
		s.jobs.SetUpstreams(baseURLs(cfg))
		if !reflect.DeepEqual(cfg.Jobs, old.cfg.Jobs) {
			s.log.Warn("heed serve: the jobs section changed; only its upstreams take effect before a restart")
		}
	}
	return nil
}

// retire closes g once no request uses it, or after RetireAfter.
func (s *Server) retire(g *generation) {
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		deadline := time.Now().Add(s.opts.RetireAfter)
		time.Sleep(100 * time.Millisecond) // requests that loaded g just before the swap
		for g.active.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if err := g.t.Close(); err != nil {
			s.log.Warn("heed serve: closing the replaced config's store", "error", err.Error())
		}
	}()
}

// Close stops the job engine (running jobs finish, up to ten seconds),
// closes the Transport in force and waits for replaced ones to close.
func (s *Server) Close() error {
	var err error
	if s.jobs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.jobs.Stop(ctx)
		cancel()
	}
	s.retiring.Wait()
	return errors.Join(err, s.gen.Load().t.Close())
}

// Transport returns the Transport in force.
func (s *Server) Transport() *heed.Transport { return s.gen.Load().t }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if refused(w, r, headerBounds) {
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, apiError{Error: CodeConnectNotSupported,
			Message: "heed serve does not tunnel HTTPS: it could not see, pace or retry the requests inside the tunnel; " +
				"use route mode instead: send the request to http://" + r.Host + "/{upstream}/{path} (point your SDK's base URL there)"})
	case r.URL.IsAbs() && !strings.HasPrefix(r.RequestURI, "/"):
		s.forward(w, r)
	case r.URL.Path == "/-" || strings.HasPrefix(r.URL.Path, "/-/"):
		s.admin.ServeHTTP(w, r)
	case s.jobsGuarded != nil && (r.URL.Path == "/v1/jobs" || strings.HasPrefix(r.URL.Path, "/v1/jobs/") || r.URL.Path == "/v1/jobs:batch"):
		s.jobsGuarded.ServeHTTP(w, r)
	default:
		s.route(w, r)
	}
}

// route serves /{upstream}/{rest}: the request goes to the upstream's
// base URL + /{rest} with the same query, through the Transport.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	g := s.gen.Load()
	g.active.Add(1)
	defer g.active.Add(-1)
	if refused(w, r, crossSite, g.tokens.routeAuth, dotSegments) {
		return
	}
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	base, ok := g.bases[name]
	if !ok {
		msg := "no upstream is configured under that name"
		if name == "" {
			msg = "route mode: send requests to /{upstream}/{path}"
		}
		writeError(w, http.StatusNotFound, apiError{Error: CodeUnknownUpstream,
			Message: fmt.Sprintf("%s (%q); the configured upstreams are listed", msg, name), Upstreams: g.names})
		return
	}
	r, ok = g.withTenant(w, r)
	if !ok {
		return
	}
	if r, ok = g.withPriority(w, r, name); !ok {
		return
	}
	rawRest := strings.TrimPrefix(r.URL.EscapedPath(), "/"+url.PathEscape(name))
	proxy := *g.proxy
	proxy.Rewrite = func(pr *httputil.ProxyRequest) {
		g.dropHeedHeaders(pr)
		pr.Out.URL.Path = "/" + rest
		pr.Out.URL.RawPath = ""
		if rawRest != "/"+rest && rawRest != "" {
			pr.Out.URL.RawPath = rawRest
		}
		pr.SetURL(base)
		pr.SetXForwarded()
	}
	// The upstream named in the path governs the request, not the one whose
	// base URL matches best: two upstreams may share a host.
	proxy.ServeHTTP(w, r.WithContext(heed.WithUpstream(r.Context(), name)))
}

// forward serves a forward-proxy request: an absolute plain-HTTP URI that a
// configured upstream covers goes as it is; any other is refused.
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	g := s.gen.Load()
	g.active.Add(1)
	defer g.active.Add(-1)
	if refused(w, r, g.tokens.proxyAuth) {
		return
	}
	up, ok := g.t.Upstream(r.URL)
	if !ok || r.URL.Scheme != "http" {
		writeError(w, http.StatusForbidden, apiError{Error: CodeNotAnUpstream,
			Message: "heed serve forwards only plain-HTTP requests to configured upstreams; it is not an open proxy", Upstreams: g.names})
		return
	}
	if refused(w, r, dotSegments) {
		return
	}
	r, ok = g.withTenant(w, r)
	if !ok {
		return
	}
	if r, ok = g.withPriority(w, r, up); !ok {
		return
	}
	proxy := *g.proxy
	proxy.Rewrite = func(pr *httputil.ProxyRequest) {
		g.dropHeedHeaders(pr)
		pr.Out.Host = r.URL.Host
		pr.SetXForwarded()
	}
	proxy.ServeHTTP(w, r)
}

// withTenant returns r with the tenant its tenant_header names, when the
// config has one and r carries it; a malformed one is answered with a 400
// and ok false.
func (g *generation) withTenant(w http.ResponseWriter, r *http.Request) (_ *http.Request, ok bool) {
	h := g.cfg.TenantHeader
	if h == "" {
		return r, true
	}
	tenant := r.Header.Get(h)
	if tenant == "" {
		return r, true
	}
	if !heed.ValidTenant(tenant) {
		writeError(w, http.StatusBadRequest, apiError{Error: CodeInvalidTenant,
			Message: fmt.Sprintf("header %s must name a tenant: [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d bytes", h, heed.MaxTenantLen)})
		return r, false
	}
	return r.WithContext(heed.WithTenant(r.Context(), tenant)), true
}

// dropHeedHeaders keeps the token, priority and tenant headers from the
// upstream: they are heed serve's, not the API's.
func (g *generation) dropHeedHeaders(pr *httputil.ProxyRequest) {
	pr.Out.Header.Del(TokenHeader)
	pr.Out.Header.Del(PriorityHeader)
	if g.cfg.TenantHeader != "" {
		pr.Out.Header.Del(g.cfg.TenantHeader)
	}
}

// proxyError answers a request the Transport returned an error for.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil: // the client went away: nobody to answer
		return
	case errors.Is(err, heed.ErrStoreUnavailable):
		writeError(w, http.StatusServiceUnavailable, apiError{Error: CodeStoreUnavailable, Message: err.Error()})
	case errors.Is(err, heed.ErrUnknownPriority):
		writeError(w, http.StatusBadRequest, unknownPriority(r, err))
	case errors.Is(err, heed.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, apiError{Error: CodeTooLarge, Message: err.Error()})
	case errors.Is(err, heed.ErrUpstreamTimeout):
		writeError(w, http.StatusGatewayTimeout, apiError{Error: CodeUpstreamTimeout, Message: err.Error()})
	default:
		writeError(w, http.StatusBadGateway, apiError{Error: CodeUpstreamUnreachable, Message: err.Error()})
	}
}

// adminHandler serves /-/. Its 404s and 405s are JSON, like every error
// heed serve writes.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("GET /-/metrics", s.authorized(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	mux.Handle("GET /-/state", s.authorized(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		st := state{Snapshot: s.gen.Load().t.Snapshot(ctx)}
		if s.jobs != nil {
			st.Jobs, _ = s.jobs.Counts(ctx)
		}
		writeJSON(w, st)
	})))
	mux.Handle("GET /-/history", s.authorized(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.hist.snapshot(s.gen.Load().names))
	})))
	mux.Handle("GET /-/", s.authorized(http.StripPrefix("/-/", dashboardHandler())))
	mux.HandleFunc("GET /-", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/-/", http.StatusFound) })
	return jsonErrors(mux, adminErrorMessage)
}

// adminErrorMessage words the admin surface's 404s and 405s.
func adminErrorMessage(r *http.Request, status int) string {
	if status == http.StatusMethodNotAllowed {
		return r.Method + " is not allowed on the admin surface, only GET and HEAD"
	}
	return "no admin page " + r.URL.Path + " (try /-/, /-/state, /-/history, /-/metrics, /-/healthz)"
}

// guardJobs serves h, the job API, to the requests that are not cross-site,
// that carry a token when any is configured (else are addressed to a
// loopback host), and whose body, if any, is JSON. Its plain-text errors
// (its ServeMux's 404s and 405s) are made JSON.
func (s *Server) guardJobs(h http.Handler) http.Handler {
	h = jsonErrors(h, jobsErrorMessage)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refused(w, r, crossSite, s.gen.Load().tokens.jobsAuth, jsonBody) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// jobsErrorMessage words the job API's plain-text errors.
func jobsErrorMessage(r *http.Request, status int) string {
	switch status {
	case http.StatusMethodNotAllowed:
		return r.Method + " is not allowed on " + r.URL.Path + " (see the Allow header)"
	case http.StatusNotFound:
		return "the job API has no " + r.URL.Path + " (POST /v1/jobs, POST /v1/jobs:batch, GET /v1/jobs, GET or DELETE /v1/jobs/{id})"
	}
	return http.StatusText(status)
}

// writeJSON writes v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
