package mockapi

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// controlPrefix starts the paths of the control endpoints, which are never
// rate limited.
const controlPrefix = "/_mock/"

// allCredentials is the key of a Force for every credential in
// Server.forces; cred ids are hex digits or AnonymousID, so it never
// collides with one.
const allCredentials = "*"

// Server is the fake API: an http.Handler that limits each credential as
// its Config says. It is safe for concurrent use.
type Server struct {
	// cfg, dialect, llm and control are set by New and read-only after.
	cfg     Config
	dialect dialect
	// llm is the LLM endpoint; nil when Config.LLM is off.
	llm     llmAPI
	control http.Handler
	// cacheControl is the Cache-Control of the resources; gate holds
	// their gated streams (it has its own lock).
	cacheControl string
	gate         *chunkGate

	// mu guards every field below. It is held only for bookkeeping and
	// limit decisions: never while reading a body, writing a response,
	// sleeping or calling Config.Now or Config.Sleep.
	mu sync.Mutex
	// gen is bumped by Reset; a request that arrived before a Reset does
	// not touch the state after it.
	gen uint64
	// latest is the latest time a decision was made at, so that decisions
	// never go back in time when concurrent requests read the clock in one
	// order and take mu in another.
	latest time.Time
	// creds holds each credential's state, by cred id.
	creds map[string]*credState
	// total counts every request; inFlight is how many are in flight.
	total    Counts
	inFlight int
	// forces holds the pending forced answers, by cred id or
	// allCredentials.
	forces map[string]*pendingForce
	log    requestLog
	// resources holds the resources under /resources/, by name.
	resources map[string]*resourceState
	// rng decides ErrorRate and LatencyJitter.
	rng *rand.Rand
}

var _ http.Handler = (*Server)(nil)

// credState is one credential's state.
type credState struct {
	counts   Counts
	inFlight int
	// limiter is the credential's limit; nil when there is none.
	limiter limiter
	// waitUntil is when the longest wait the credential was told ends.
	waitUntil time.Time
	// llm is the credential's LLM state; nil until its first LLM request.
	llm *llmState
}

// kind says how a request is answered.
type kind int

const (
	kindAccepted kind = iota
	kindLimited
	kindForced
	kindRandomError
)

// admission is the decision on one request, taken when it arrives.
type admission struct {
	kind kind
	// gen is the Server's generation at arrival.
	gen    uint64
	credID string
	// n is the request's number among its credential's requests.
	n          int
	now        time.Time
	duringWait bool
	// decision is the limiter's decision, valid when limited is true.
	decision decision
	limited  bool
	// force is the forced answer of kindForced.
	force Force
	// latency is how long an accepted request waits before its answer.
	latency time.Duration
	// llm reports that the request goes to the LLM endpoint, which its
	// buckets limit instead of Config.Limit; call is its state once its
	// body was read.
	llm  bool
	call *llmCall
	// resource is what an accepted request of a resource sees of it;
	// notModified reports that it is answered 304.
	resource    *resourceView
	notModified bool
}

// New returns a Server configured by cfg, or an error naming the first
// field of cfg that is not valid.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	d, _ := dialectNamed(cfg.Dialect)
	s := &Server{cfg: cfg, dialect: d, llm: newLLMAPI(cfg.LLM.Vendor),
		cacheControl: cfg.Cache.cacheControl(), gate: newChunkGate()}
	if s.llm != nil {
		o200k() // load the tokenizer now, not on the first request's clock
	}
	s.control = s.controlHandler()
	s.clear()
	return s, nil
}

// clear empties the state. The caller holds mu or owns s alone.
func (s *Server) clear() {
	s.gen++
	s.creds = make(map[string]*credState)
	s.total, s.inFlight = Counts{}, 0
	s.forces = make(map[string]*pendingForce)
	s.log = requestLog{size: s.cfg.LogSize}
	s.resources = make(map[string]*resourceState)
	s.rng = rand.New(rand.NewPCG(s.cfg.Seed, s.cfg.Seed))
}

// ServeHTTP answers the control endpoints under /_mock/, and every other
// request as the rate-limited API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.control.ServeHTTP(w, r)
		return
	}
	a := s.admit(r, s.cfg.Now().UTC())
	status := statusClientGone
	defer func() { s.finish(r, a, status) }()
	status = s.answer(w, r, &a)
}

// admit counts a request arriving at now and decides how to answer it.
func (s *Server) admit(r *http.Request, now time.Time) admission {
	id, llm := CredID(credentialOf(r)), s.isLLM(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	now = s.advance(now)
	c := s.cred(id)
	a := admission{gen: s.gen, credID: id, now: now, duringWait: now.Before(c.waitUntil), llm: llm}
	s.arrive(c, a)
	a.n = c.counts.Requests
	s.decide(c, &a)
	if name, ok := resourceName(r); ok && a.kind == kindAccepted && !a.llm {
		s.viewResource(c, &a, r, name)
	}
	return a
}

// advance returns now, or the latest time a decision was made at if that
// is later, and records it as the latest. The caller holds mu.
func (s *Server) advance(now time.Time) time.Time {
	if now.Before(s.latest) {
		now = s.latest
	}
	s.latest = now
	return now
}

// cred returns the state of the credential id, creating it if need be.
func (s *Server) cred(id string) *credState {
	c, ok := s.creds[id]
	if !ok {
		c = &credState{limiter: newLimiter(s.cfg.Limit)}
		s.creds[id] = c
	}
	return c
}

// arrive counts the request of a in c and in the totals.
func (s *Server) arrive(c *credState, a admission) {
	c.counts.arrive(a.now, a.duringWait)
	s.total.arrive(a.now, a.duringWait)
	c.inFlight++
	s.inFlight++
	c.counts.MaxInFlight = max(c.counts.MaxInFlight, c.inFlight)
	s.total.MaxInFlight = max(s.total.MaxInFlight, s.inFlight)
}

// decide fills in how a is answered: forced, a random error, limited or
// accepted, in that order of precedence.
func (s *Server) decide(c *credState, a *admission) {
	if f, ok := s.takeForce(a.credID); ok {
		a.kind, a.force = kindForced, f
		if f.tellsWait() {
			c.tell(a.now.Add(f.RetryAfter))
		}
		return
	}
	if s.cfg.ErrorRate > 0 && s.rng.Float64() < s.cfg.ErrorRate {
		a.kind = kindRandomError
		return
	}
	if c.limiter != nil && !a.llm {
		a.decision, a.limited = c.limiter.take(a.now), true
		if !a.decision.allowed {
			a.kind = kindLimited
			if s.dialect.tellsWait {
				c.tell(a.now.Add(a.decision.wait))
			}
			return
		}
	}
	a.kind, a.latency = kindAccepted, s.latency()
}

// tell records that the credential was told to wait until t.
func (c *credState) tell(t time.Time) {
	if t.After(c.waitUntil) {
		c.waitUntil = t
	}
}

// latency returns the delay of an accepted request: Latency plus a random
// share of LatencyJitter.
func (s *Server) latency() time.Duration {
	d := s.cfg.Latency
	if j := s.cfg.LatencyJitter; j > 0 {
		d += time.Duration(s.rng.Int64N(int64(j)))
	}
	return d
}

// finish counts the answer of a request and logs it. A request that
// arrived before a Reset is neither counted nor logged.
func (s *Server) finish(r *http.Request, a admission, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.gen != s.gen {
		return
	}
	c := s.creds[a.credID]
	c.inFlight--
	s.inFlight--
	if a.kind == kindAccepted && c.limiter != nil && !a.llm {
		c.limiter.release()
	}
	if a.resource != nil {
		s.countResource(a, r.Method, status)
	}
	c.counts.finish(status, a.kind == kindLimited)
	s.total.finish(status, a.kind == kindLimited)
	e := LogEntry{
		Time: a.now, CredID: a.credID, Method: r.Method, Path: r.URL.Path, Status: status,
		DuringWait: a.duringWait, IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}
	if a.call != nil {
		e.LLM = a.call.entry()
	}
	s.log.add(e)
}
