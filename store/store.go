package store

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/heedhq/heed/limit"
)

// Store keeps the shared state of scopes. Implementations are safe for
// concurrent use, and every method is atomic for its scope.
type Store interface {
	// Acquire decides whether a request of the scope may be sent now. In one
	// atomic step it checks the cooldown, then every limit of the request and
	// every pace recorded for the scope, then the concurrency cap, and takes
	// them all or none.
	Acquire(ctx context.Context, req Request) (Grant, error)
	// Release gives back the concurrency lease of a Grant. Releasing a lease
	// that expired or was already released is not an error.
	Release(ctx context.Context, scope string, lease Lease) error
	// SetCooldown records that no request of the scope may be sent until
	// c.Until. A cooldown already in force that ends later is kept. It
	// returns the cooldown in force afterwards.
	SetCooldown(ctx context.Context, scope string, c Cooldown) (Cooldown, error)
	// Cooldown returns the scope's cooldown in force, if any.
	Cooldown(ctx context.Context, scope string) (Cooldown, bool, error)
	// SetPace records a pace for the scope, learned from an API's quota
	// headers; Acquire enforces it like a limit until pace.Until. A pace with
	// the same Key replaces the earlier one, keeping the units it has spent
	// (see limit.Reprice), except that a pace without Learned keeps a
	// Learned one in force until its Until. It returns the pace in force
	// afterwards: pace, or the learned one kept, so that a process learns
	// what another learned of the quota.
	SetPace(ctx context.Context, scope string, pace Pace) (Pace, error)
	// Settle corrects what Acquire charged a request once its real cost is
	// known, in one atomic step: every limit of s.Limits, and every pace of
	// the scope in force, is charged s.Delta in its own unit more (a
	// negative delta gives units back, never beyond a full limit). A unit
	// whose delta is 0 changes nothing. Settle never refuses and never
	// waits: the request has been sent. It is not idempotent: the caller
	// settles each charge once.
	Settle(ctx context.Context, s Settlement) error
	// Close releases the store's resources.
	Close() error
}

// Request is what Acquire is asked for.
type Request struct {
	// Scope is the key of the scope.
	Scope string
	// Limits lists the configured limits that apply to the request.
	Limits []Limit
	// Cost is what the request costs in each unit: each limit and pace is
	// charged Cost.Of(its unit), and at least 1 (a request a limit covers
	// counts as at least one of its units). The zero Cost charges one unit
	// of each.
	Cost Cost
	// Concurrency caps the scope's requests in flight; 0 means no cap.
	Concurrency int
	// LeaseTTL bounds how long a concurrency lease is held if never
	// released (a crashed worker); 0 means DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Turn, when set, makes the request take its turn among the waiting
	// rooms of every process sharing the scope's fair shares (see Turn):
	// Acquire admits it only when no other room's waiting request goes
	// before it, and otherwise refuses with ReasonTurn.
	Turn *Turn
}

// Turn is a request's place in the fair shares of its scope, fleet-wide.
// Every process keeps one waiting room per scope (package fair orders the
// requests in it); the room's first request asks Acquire with its Turn.
// The store keeps, per scope, start-time fair queuing tags of each class
// and of each flow within its class (see fair.Board), and the rooms whose
// first request was refused recently (the contenders): Acquire admits a
// Turn only when no live contender's class has a smaller start tag, nor,
// in the same class, its flow. An admission moves the class's and the
// flow's tags by Cost (the class's by Cost/Share). A contender is live
// until its refusal's Wait plus TurnGrace has passed, or it is admitted.
type Turn struct {
	// Member names the waiting room asking: one per process and scope;
	// non-empty, at most 1,024 bytes. A room's entry among the contenders
	// is replaced each time it asks.
	Member string
	// Class is the request's priority class (non-empty, at most 1,024
	// bytes), Share its weight (> 0).
	Class string
	Share int
	// Flow is who the request counts against within its class (a tenant,
	// a customer): any string of at most MaxFlowLen bytes.
	Flow string
	// Cost is what the request counts against its flow and class; values
	// below 1 count as 1.
	Cost int64
}

// MaxFlowLen bounds Turn.Flow. A Turn outside its bounds is ErrInvalid.
const MaxFlowLen = 256

// TurnGrace is how long past its refusal's Wait a contender keeps its
// place: a room told to wait W asks again after W, late by its scheduling
// and a round trip. A room that went away blocks others at most this long.
const TurnGrace = 250 * time.Millisecond

// DefaultLeaseTTL is the lease lifetime when a Request does not say.
const DefaultLeaseTTL = 2 * time.Minute

// Limit is one configured limit.
type Limit struct {
	// Key names the limit within its scope, e.g. "0" or "search"; limits
	// with the same Key share state.
	Key  string
	GCRA limit.GCRA
	// Unit is what the limit counts; the zero Unit is requests.
	Unit Unit
}

// Pace is a limit learned from an API's quota headers (adaptive pacing).
type Pace struct {
	// Key names the pace within its scope, e.g. the quota's name.
	Key  string
	GCRA limit.GCRA
	// Until is when the pace stops applying: the quota's reset.
	Until time.Time
	// Unit is what the pace counts; the zero Unit is requests.
	Unit Unit
	// Learned is, for a pace learned from how the quota comes back (see
	// package learn), what was learned; the zero Learned for a pace that
	// spreads what is left until a reset.
	Learned Learned
	// Fresh starts the pace with nothing spent instead of keeping the
	// units a replaced one has spent: for a pace of what an answer says is
	// left, which counts what was spent already.
	Fresh bool
}

// Learned is what a process learned of how a quota comes back: Limit
// units in Window.
type Learned struct {
	Limit  int64
	Window time.Duration
}

// IsZero reports whether nothing was learned.
func (l Learned) IsZero() bool { return l.Limit <= 0 || l.Window <= 0 }

// Unit is what a limit counts. One request may cost one request and
// thousands of tokens at once: each limit is charged in its own unit.
type Unit uint8

// The units.
const (
	// UnitRequests counts requests: every request costs one.
	UnitRequests Unit = iota
	// UnitTokens counts input and output tokens together (OpenAI's TPM).
	UnitTokens
	// UnitInputTokens counts input (prompt) tokens (Anthropic's ITPM).
	UnitInputTokens
	// UnitOutputTokens counts output (completion) tokens (Anthropic's OTPM).
	UnitOutputTokens
)

var unitNames = [...]string{"requests", "tokens", "input_tokens", "output_tokens"}

// String returns "requests", "tokens", "input_tokens" or "output_tokens".
func (u Unit) String() string {
	if int(u) >= len(unitNames) {
		return "unknown"
	}
	return unitNames[u]
}

// ParseUnit returns the Unit that String names.
func ParseUnit(s string) (Unit, bool) {
	for i, n := range unitNames {
		if n == s {
			return Unit(i), true
		}
	}
	return 0, false
}

// Cost is an amount in each unit: what a request costs (Request.Cost), or
// how much more or less it cost than was charged (Settlement.Delta).
type Cost struct {
	Requests, Tokens, InputTokens, OutputTokens int64
}

// Of returns the amount in unit u; 0 for a unit Cost does not know.
func (c Cost) Of(u Unit) int64 {
	switch u {
	case UnitRequests:
		return c.Requests
	case UnitTokens:
		return c.Tokens
	case UnitInputTokens:
		return c.InputTokens
	case UnitOutputTokens:
		return c.OutputTokens
	}
	return 0
}

// IsZero reports whether every amount is 0.
func (c Cost) IsZero() bool { return c == Cost{} }

// Charge returns what Acquire charges a limit or pace of unit u for a
// request of cost c: c.Of(u), and at least 1.
func (c Cost) Charge(u Unit) int64 { return max(c.Of(u), 1) }

// Settlement is what Settle is asked: a correction of the charge of one
// request of Scope.
type Settlement struct {
	// Scope is the key of the scope.
	Scope string
	// Limits are the limits the request was charged under, as given to
	// Acquire.
	Limits []Limit
	// Delta is the cost still to charge in each unit: the real cost minus
	// the charged one. Negative amounts give units back.
	Delta Cost
}

// Reason says why Acquire refused.
type Reason int

const (
	// ReasonNone: the request was allowed.
	ReasonNone Reason = iota
	// ReasonCooldown: the scope is cooling down after being told to wait.
	ReasonCooldown
	// ReasonLimit: a configured limit or a pace has no room yet.
	ReasonLimit
	// ReasonConcurrency: the scope has as many requests in flight as allowed.
	ReasonConcurrency
	// ReasonTurn: another process's waiting request of the scope goes
	// first (see Turn).
	ReasonTurn
)

var reasonNames = [...]string{"none", "cooldown", "limit", "concurrency", "turn"}

// String returns "none", "cooldown", "limit", "concurrency" or "turn".
func (r Reason) String() string {
	if r < 0 || int(r) >= len(reasonNames) {
		return "unknown"
	}
	return reasonNames[r]
}

// Grant is Acquire's answer.
type Grant struct {
	// Allowed reports whether the request may be sent now.
	Allowed bool
	// Reason says why not, when not allowed.
	Reason Reason
	// Wait is how long until asking again is worthwhile, when not allowed:
	// the end of the cooldown, the time until every limit has room, or a
	// short poll interval for the concurrency cap.
	Wait time.Duration
	// Cooldown is the cooldown in force, when Reason is ReasonCooldown.
	Cooldown Cooldown
	// Lease is the concurrency lease to Release, when allowed under a cap.
	Lease Lease
	// Limit is the Key of the limit or pace that refused, for ReasonLimit.
	Limit string
}

// Lease identifies a concurrency slot. The zero Lease holds nothing.
type Lease struct{ ID uint64 }

// ConcurrencyPoll is the Wait a Grant suggests when the concurrency cap
// refused: slots free up when requests finish, which no clock predicts.
const ConcurrencyPoll = 5 * time.Millisecond

// Cooldown is a scope's enforced pause, with what is needed to replay the
// response that caused it.
type Cooldown struct {
	// Until is when requests may be sent again.
	Until time.Time
	// Status is the status of the response that caused it, e.g. 429.
	Status int
	// Header holds the rate-limit headers of that response, to replay to
	// callers who are refused during the cooldown. Never a body, never a
	// credential.
	Header http.Header
	// Source names what set the wait, e.g. "retry-after".
	Source string
	// At is when the response that caused it arrived, so that a replayed
	// header counting from then ("6m0s" left) can count from now; the zero
	// Time when unknown.
	At time.Time
}

// ErrClosed is returned by a Store after Close.
var ErrClosed = errors.New("store: closed")

// ErrInvalid is returned for a request a store cannot act on.
var ErrInvalid = errors.New("store: invalid request")

// ErrUnavailable is wrapped by the errors of a store that cannot be reached
// (store/failover in closed mode, say).
var ErrUnavailable = errors.New("store unavailable")

// Presence is implemented by stores that many processes share (Redis). A
// process that keeps beating for a group is counted as one of the group's
// live members, so that when the shared store is out of reach each member
// can fall back to its share of a limit instead of all of it.
type Presence interface {
	// Heartbeat records that member of group is alive for ttl and returns
	// how many members of group are alive, itself included. A ttl of 0 or
	// less removes member (a clean exit) and returns how many are left.
	Heartbeat(ctx context.Context, group, member string, ttl time.Duration) (int, error)
}

// Traffic is what a store that talks to a server (store/redis) sent it:
// round trips and commands, and settlements sent and lost (with a round
// trip that failed: their charges stand).
type Traffic struct {
	RoundTrips  int64 `json:"round_trips"`
	Commands    int64 `json:"commands"`
	Settles     int64 `json:"settles"`
	SettlesLost int64 `json:"settles_lost,omitempty"`
}

// TrafficCounter is implemented by stores that count their traffic, so
// that a program can show round trips per request (heed's Snapshot does).
type TrafficCounter interface {
	Traffic() Traffic
}
