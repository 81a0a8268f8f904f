package redis

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/fair"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

var (
	//go:embed lua/acquire.lua
	acquireSrc string
	//go:embed lua/set_cooldown.lua
	setCooldownSrc string
	//go:embed lua/get_cooldown.lua
	getCooldownSrc string
	//go:embed lua/set_pace.lua
	setPaceSrc string
	//go:embed lua/settle.lua
	settleSrc string
	//go:embed lua/heartbeat.lua
	heartbeatSrc string
	//go:embed lua/decide.lua
	decideSrc string
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every key; "" means "heed:".
	Prefix string
	// Now, when set, is the clock instead of the Redis server's TIME. Only
	// tests should set it.
	Now func() time.Time
	// Timeout bounds each command's dial, write and read when Open makes
	// the client; 0 means DefaultTimeout. A slow or unreachable Redis must
	// not hold requests up: the Transport then goes on without it.
	Timeout time.Duration
	// Batch, above 1, turns on local leasing for high throughput: an
	// Acquire that goes to Redis takes up to Batch admissions of its scope
	// at once when they fit, and the next Acquires of the same scope, limits
	// and cost spend the rest in this process without a round trip. See
	// "Local leasing" in the package doc for what it costs. Requests under
	// a concurrency cap are never batched.
	Batch int
	// BatchAhead bounds local leasing: extra admissions are taken only
	// while due within BatchAhead of now, and are spent within BatchAhead
	// or dropped; 0 means DefaultBatchAhead.
	BatchAhead time.Duration
	// Pipeline bounds pipelining: at most Pipeline commands go in one round
	// trip; 0 means DefaultPipeline. 1 turns pipelining off: every command
	// is its own round trip, made by the caller's goroutine, and Settle
	// waits for its reply. See "Pipelining" in the package doc.
	Pipeline int
	// SettleDelay bounds how long a settlement waits for a round trip to
	// carry it before it is sent alone; 0 means DefaultSettleDelay. Unused
	// when pipelining is off.
	SettleDelay time.Duration
	// MaxBlobBytes bounds the values SetBlob takes; 0 or less means
	// DefaultMaxBlobBytes. A larger value is refused with ErrBlobTooLarge.
	MaxBlobBytes int
}

// DefaultTimeout is the store's command timeout when Options does not say.
const DefaultTimeout = 250 * time.Millisecond

// DefaultBatchAhead is Options.BatchAhead's default.
const DefaultBatchAhead = 10 * time.Millisecond

// DefaultPipeline is Options.Pipeline's default: the most commands in one
// round trip.
const DefaultPipeline = 128

// DefaultSettleDelay is Options.SettleDelay's default.
const DefaultSettleDelay = 2 * time.Millisecond

// closeWait bounds how long Close waits for the commands and settlements
// queued before it to be sent.
const closeWait = time.Second

// Store is the Redis Store. It is safe for concurrent use.
type Store struct {
	client goredis.UniversalClient
	prefix string
	now    func() time.Time

	acquire, setCooldown, getCooldown, setPace, settle, heartbeat *goredis.Script

	// batch is Options.Batch and ahead Options.BatchAhead in µs; leases
	// holds the admissions taken ahead, when batch > 1.
	batch  int
	ahead  int64
	leases *leases

	// maxBlob is Options.MaxBlobBytes, its default applied.
	maxBlob int

	// pipe batches the commands into round trips; nil when pipelining is
	// off. stats counts what is sent, either way.
	pipe  *pipeline
	stats *counters
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Presence = (*Store)(nil)
)

// New returns a Store over client. Closing the Store closes the client.
func New(client goredis.UniversalClient, opts Options) *Store {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "heed:"
	}
	ahead := opts.BatchAhead
	if ahead <= 0 {
		ahead = DefaultBatchAhead
	}
	stats := new(counters)
	var pipe *pipeline
	if opts.Pipeline != 1 {
		size, delay := opts.Pipeline, opts.SettleDelay
		if size <= 0 {
			size = DefaultPipeline
		}
		if delay <= 0 {
			delay = DefaultSettleDelay
		}
		pipe = newPipeline(client, size, delay, stats, goredis.NewScript(decideSrc))
	}
	return &Store{
		client: client, prefix: prefix, now: opts.Now,
		batch: max(opts.Batch, 1), ahead: limit.Micros(ahead), leases: newLeases(),
		pipe: pipe, stats: stats, maxBlob: maxBlobBytes(opts.MaxBlobBytes),
		acquire:     goredis.NewScript(acquireSrc),
		setCooldown: goredis.NewScript(setCooldownSrc),
		getCooldown: goredis.NewScript(getCooldownSrc),
		setPace:     goredis.NewScript(setPaceSrc),
		settle:      goredis.NewScript(settleSrc),
		heartbeat:   goredis.NewScript(heartbeatSrc),
	}
}

// keys returns the scope's hash and lease set, in one Cluster slot.
func (s *Store) keys(scope string) []string {
	base := s.prefix + "{" + scope + "}:"
	return []string{base + "s", base + "l"}
}

// turnKeys returns the keys of a turn's acquire.lua call: the scope's hash
// and lease set, its board, and the flow tags of class; all in one slot.
func (s *Store) turnKeys(scope, class string) []string {
	base := s.prefix + "{" + scope + "}:"
	return []string{base + "s", base + "l", base + "f", base + "f:" + class}
}

// nowArg is the time the scripts use: "" for the server's TIME.
func (s *Store) nowArg() string {
	if s.now == nil {
		return ""
	}
	return strconv.FormatInt(s.now().UnixMicro(), 10)
}

// Acquire implements store.Store.
func (s *Store) Acquire(ctx context.Context, req store.Request) (store.Grant, error) {
	if req.Scope == "" {
		return store.Grant{}, fmt.Errorf("%w: empty scope", store.ErrInvalid)
	}
	ttl := req.LeaseTTL
	if ttl <= 0 {
		ttl = store.DefaultLeaseTTL
	}
	if req.Turn != nil {
		return s.acquireTurn(ctx, req, ttl)
	}
	var lkey string
	batched := s.batch > 1 && req.Concurrency <= 0
	if batched {
		lkey = leaseKey(req)
		if g, ok := s.leases.take(req.Scope, lkey, s.clock()); ok {
			return g, nil
		}
	}
	extra := 0
	if batched {
		extra = s.batch - 1
	}
	c := s.acquireCall(req, ttl, extra)
	reply, err := s.run(ctx, c).Slice()
	if err != nil {
		return store.Grant{}, wrap("acquire", err)
	}
	g, extra, err := parseGrant(reply)
	switch {
	case !batched || err != nil:
	case g.Allowed:
		now := s.clock()
		s.leases.admitted(req.Scope, lkey, extra, now, now+s.ahead)
	case g.Wait > 0:
		s.leases.refuse(req.Scope, lkey, g, s.clock())
	}
	return g, err
}

// acquireCall returns the call of acquire.lua for req (its ARGV: see its
// header). Without a concurrency cap, the tail of its ARGV from ARGV[4] on
// is also the request as one operation of decide.lua, which the pipeline
// may send instead with others of its scope.
func (s *Store) acquireCall(req store.Request, ttl time.Duration, extra int) *call {
	op := make([]any, 0, 8+4*len(req.Limits))
	op = append(op, "a", extra, s.ahead)
	op = appendPerUnit(op, req.Cost.Charge) // what each pace is charged, by its unit
	op = append(op, len(req.Limits))
	for _, l := range req.Limits {
		op = append(op, l.Key, l.GCRA.Interval, l.GCRA.Tolerance, req.Cost.Charge(l.Unit))
	}
	args := make([]any, 0, 2+len(op))
	args = append(args, s.nowArg(), req.Concurrency, limit.Micros(ttl))
	args = append(args, op[1:]...)
	keys := s.keys(req.Scope)
	if req.Concurrency > 0 {
		return &call{script: s.acquire, keys: keys, args: args} // decide.lua takes no leases
	}
	return &call{script: s.acquire, keys: keys[:1], args: args, op: op} // the lease set is not touched
}

// acquireTurn is Acquire for a request that takes its turn: one call of
// acquire.lua, never grouped into decide.lua and never leased ahead, since
// each decision of a turn depends on the contenders of that moment.
func (s *Store) acquireTurn(ctx context.Context, req store.Request, ttl time.Duration) (store.Grant, error) {
	t := req.Turn
	if err := (fair.Turn{Member: t.Member, Class: t.Class, Share: t.Share, Flow: t.Flow, Cost: t.Cost}).Validate(); err != nil {
		return store.Grant{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	c := s.acquireCall(req, ttl, 0)
	c.keys, c.op = s.turnKeys(req.Scope, t.Class), nil
	c.args = append(c.args, t.Member, t.Class, t.Share, t.Flow, t.Cost,
		limit.Micros(store.TurnGrace), limit.Micros(store.ConcurrencyPoll), fair.BoardIdle.Milliseconds(),
		fair.MaxContenders, fair.MaxClassFlows)
	reply, err := s.run(ctx, c).Slice()
	if err != nil {
		return store.Grant{}, wrap("acquire", err)
	}
	g, _, err := parseGrant(reply)
	return g, err
}

// appendPerUnit appends amount(u) for every unit, in the order of their
// numbers (requests, tokens, input_tokens, output_tokens): the scripts
// number a pace's unit the same way, as store.Unit does.
func appendPerUnit(args []any, amount func(store.Unit) int64) []any {
	for u := store.UnitRequests; u <= store.UnitOutputTokens; u++ {
		args = append(args, amount(u))
	}
	return args
}

// clock is the time leases are kept by, in µs: the injected clock, or this
// host's (leases never leave the process, so skew does not matter).
func (s *Store) clock() int64 {
	if s.now != nil {
		return s.now().UnixMicro()
	}
	return time.Now().UnixMicro()
}

// parseGrant reads acquire.lua's reply: the grant, and when allowed how
// many extra admissions were taken.
func parseGrant(r []any) (store.Grant, int, error) {
	if len(r) < 4 {
		return store.Grant{}, 0, fmt.Errorf("redis store: acquire: reply of %d elements, want 4 or 5", len(r))
	}
	allowed, okA := r[0].(int64)
	wait, okW := r[1].(int64)
	reason, okR := r[2].(string)
	if !okA || !okW || !okR {
		return store.Grant{}, 0, fmt.Errorf("redis store: acquire: unexpected reply %v", r)
	}
	if allowed == 1 {
		lease, _ := r[3].(int64)
		var extra int64
		if len(r) > 4 {
			extra, _ = r[4].(int64)
		}
		return store.Grant{Allowed: true, Lease: store.Lease{ID: uint64(max(lease, 0))}}, int(max(extra, 0)), nil
	}
	switch reason {
	case "cooldown":
		cd, err := parseCooldown(r[3])
		return store.Grant{Reason: store.ReasonCooldown, Wait: limit.Duration(wait), Cooldown: cd}, 0, err
	case "limit":
		key, _ := r[3].(string)
		return store.Grant{Reason: store.ReasonLimit, Wait: limit.Duration(wait), Limit: key}, 0, nil
	case "concurrency":
		return store.Grant{Reason: store.ReasonConcurrency, Wait: store.ConcurrencyPoll}, 0, nil
	case "turn":
		return store.Grant{Reason: store.ReasonTurn, Wait: limit.Duration(wait)}, 0, nil
	}
	return store.Grant{}, 0, fmt.Errorf("redis store: acquire: unknown reason %q", reason)
}

// parseCooldown reads {until, status, source, headers, at}, every field a
// string; at is the hash's cda field as stored, "at until" in µs (see
// acquire.lua).
func parseCooldown(v any) (store.Cooldown, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 5 {
		return store.Cooldown{}, fmt.Errorf("redis store: cooldown: unexpected reply %v", v)
	}
	var s [5]string
	for i := range f {
		if s[i], ok = f[i].(string); !ok {
			return store.Cooldown{}, fmt.Errorf("redis store: cooldown: field %d is %T, want a string", i, f[i])
		}
	}
	until, err1 := strconv.ParseInt(s[0], 10, 64)
	status, err2 := strconv.Atoi(s[1])
	var h http.Header
	var err3 error
	if s[3] != "" {
		err3 = json.Unmarshal([]byte(s[3]), &h)
	}
	at, err4 := parseAt(s[4], until)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return store.Cooldown{}, fmt.Errorf("redis store: cooldown: %w", err)
	}
	return store.Cooldown{Until: time.UnixMicro(until), Status: status, Source: s[2], Header: h, At: at}, nil
}

// parseAt reads a cda field, "at until" in µs, for the cooldown ending at
// until: the zero Time when it is missing ("" or "0"), at is 0, or it
// belongs to another cooldown (one that a version without cda replaced).
func parseAt(field string, until int64) (time.Time, error) {
	if field == "" || field == "0" {
		return time.Time{}, nil
	}
	a, u, ok := strings.Cut(field, " ")
	at, err1 := strconv.ParseInt(a, 10, 64)
	of, err2 := strconv.ParseInt(u, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("arrival %q, want \"at until\"", field)
	}
	if at == 0 || of != until {
		return time.Time{}, nil
	}
	return time.UnixMicro(at), nil
}

// Release implements store.Store.
func (s *Store) Release(ctx context.Context, scope string, lease store.Lease) error {
	if lease == (store.Lease{}) {
		return nil
	}
	if err := s.run(ctx, &call{args: []any{"zrem", s.keys(scope)[1], strconv.FormatUint(lease.ID, 10)}}).Err(); err != nil {
		return wrap("release", err)
	}
	return nil
}

// SetCooldown implements store.Store.
func (s *Store) SetCooldown(ctx context.Context, scope string, c store.Cooldown) (store.Cooldown, error) {
	if scope == "" {
		return store.Cooldown{}, fmt.Errorf("%w: empty scope", store.ErrInvalid)
	}
	s.leases.drop(scope) // this process stops at once; see "Local leasing"
	h, err := json.Marshal(c.Header)
	if err != nil {
		return store.Cooldown{}, fmt.Errorf("redis store: cooldown headers: %w", err)
	}
	var at int64 // 0: unknown
	if !c.At.IsZero() {
		at = c.At.UnixMicro()
	}
	reply, err := s.run(ctx, &call{script: s.setCooldown, keys: s.keys(scope)[:1], args: []any{s.nowArg(), c.Until.UnixMicro(), c.Status, c.Source, string(h), at}}).Result()
	if err != nil {
		return store.Cooldown{}, wrap("set cooldown", err)
	}
	return parseCooldown(reply)
}

// Cooldown implements store.Store.
func (s *Store) Cooldown(ctx context.Context, scope string) (store.Cooldown, bool, error) {
	reply, err := s.run(ctx, &call{script: s.getCooldown, keys: s.keys(scope)[:1], args: []any{s.nowArg()}}).Slice()
	if err != nil {
		return store.Cooldown{}, false, wrap("cooldown", err)
	}
	if len(reply) == 0 {
		return store.Cooldown{}, false, nil
	}
	cd, err := parseCooldown(reply)
	return cd, err == nil, err
}

// SetPace implements store.Store.
func (s *Store) SetPace(ctx context.Context, scope string, p store.Pace) (store.Pace, error) {
	if scope == "" || p.Key == "" {
		return store.Pace{}, fmt.Errorf("%w: empty scope or pace key", store.ErrInvalid)
	}
	var learned [2]int64
	if !p.Learned.IsZero() {
		learned = [2]int64{p.Learned.Limit, p.Learned.Window.Microseconds()}
	}
	fresh := 0
	if p.Fresh {
		// What the answer says is left replaces what was spent: the
		// refusals remembered, and the admissions held, may not fit it.
		fresh = 1
		s.leases.drop(scope)
	}
	reply, err := s.run(ctx, &call{script: s.setPace, keys: s.keys(scope)[:1], args: []any{s.nowArg(), p.Key, p.GCRA.Interval, p.GCRA.Tolerance,
		p.Until.UnixMicro(), int64(p.Unit), learned[0], learned[1], fresh}}).Result()
	if err != nil {
		return store.Pace{}, wrap("set pace", err)
	}
	return parseKeptPace(p, reply)
}

// parseKeptPace reads set_pace.lua's reply: p when it was set, else the
// learned pace kept in its place.
func parseKeptPace(p store.Pace, reply any) (store.Pace, error) {
	f, _ := reply.([]any)
	r := make([]int64, len(f))
	for i, v := range f {
		n, ok := v.(int64)
		if !ok {
			return store.Pace{}, fmt.Errorf("redis store: set pace: unexpected reply %v", reply)
		}
		r[i] = n
	}
	switch {
	case len(r) == 1 && r[0] == 0:
		return p, nil
	case len(r) != 7 || r[0] != 1:
		return store.Pace{}, fmt.Errorf("redis store: set pace: unexpected reply %v", reply)
	}
	return store.Pace{Key: p.Key, GCRA: limit.GCRA{Interval: r[1], Tolerance: r[2]}, Until: time.UnixMicro(r[3]), Unit: store.Unit(r[4]),
		Learned: store.Learned{Limit: r[5], Window: time.Duration(r[6]) * time.Microsecond}}, nil
}

// Settle implements store.Store. It queues the correction and returns at
// once: the next round trip carries it, ahead of the commands it carries, or
// it goes alone after Options.SettleDelay (see "Settle" in the package doc).
// An error is only ever ErrInvalid or ErrClosed, unless pipelining is off:
// then Settle makes its own round trip and returns its error. A settlement
// is sent at most once; Stats counts those lost. A zero Delta sends
// nothing. With local leasing, a Delta that charges more drops the admissions this process
// holds for the scope, as SetCooldown does: they were taken before the
// debt and may no longer fit. One that only gives back forgets the scope's
// remembered refusals, whose waits may now be too long.
func (s *Store) Settle(ctx context.Context, set store.Settlement) error {
	if set.Scope == "" {
		return fmt.Errorf("%w: empty scope", store.ErrInvalid)
	}
	if set.Delta.IsZero() {
		return nil
	}
	s.leases.settled(set.Scope, chargesMore(set.Delta))
	if err := s.post(ctx, s.settleCall(set)); err != nil {
		return wrap("settle", err)
	}
	return nil
}

// settleCall returns the call of settle.lua for set (its ARGV: see its
// header). The tail of its ARGV from ARGV[2] on is also the settlement as
// one operation of decide.lua.
func (s *Store) settleCall(set store.Settlement) *call {
	n := 0
	for _, l := range set.Limits {
		if _, ok := limitDelta(set, l); ok {
			n++
		}
	}
	op := make([]any, 0, 6+3*n)
	op = append(op, "s")
	op = appendPerUnit(op, set.Delta.Of) // what each pace is adjusted by, by its unit
	op = append(op, n)
	for _, l := range set.Limits {
		if d, ok := limitDelta(set, l); ok {
			op = append(op, l.Key, l.GCRA.Interval, d)
		}
	}
	args := make([]any, 0, len(op))
	args = append(args, s.nowArg())
	args = append(args, op[1:]...)
	return &call{script: s.settle, keys: s.keys(set.Scope)[:1], args: args, op: op}
}

// limitDelta returns what set adjusts l by, and false when l would not
// change (no delta in its unit, or a limit of nothing): settle.lua is not
// told of it.
func limitDelta(set store.Settlement, l store.Limit) (int64, bool) {
	d := set.Delta.Of(l.Unit)
	return d, d != 0 && l.GCRA.Interval > 0
}

// chargesMore reports whether c charges more in some unit.
func chargesMore(c store.Cost) bool {
	for u := store.UnitRequests; u <= store.UnitOutputTokens; u++ {
		if c.Of(u) > 0 {
			return true
		}
	}
	return false
}

// Heartbeat implements store.Presence. A group's members are one sorted set,
// prefix + "{presence:" + group + "}", scored by when each expires; the
// group names upstreams, never credentials.
func (s *Store) Heartbeat(ctx context.Context, group, member string, ttl time.Duration) (int, error) {
	if group == "" || member == "" {
		return 0, fmt.Errorf("%w: empty group or member", store.ErrInvalid)
	}
	key := s.prefix + "{presence:" + group + "}"
	n, err := s.run(ctx, &call{script: s.heartbeat, keys: []string{key}, args: []any{s.nowArg(), member, limit.Micros(max(ttl, 0))}}).Int()
	if err != nil {
		return 0, wrap("heartbeat", err)
	}
	return n, nil
}

// Close implements store.Store: it sends what was queued before it,
// settlements included (waiting at most a second), and closes the client.
// Later calls fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.pipe != nil {
		s.pipe.close(closeWait)
	}
	if err := s.client.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return err
	}
	return nil
}

// wrap names the operation that failed; a closed client is store.ErrClosed.
func wrap(op string, err error) error {
	if errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis store: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("redis store: %s: %w", op, err)
}
