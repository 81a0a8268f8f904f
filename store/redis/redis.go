package redis

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
	//go:embed lua/heartbeat.lua
	heartbeatSrc string
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
}

// DefaultTimeout is the store's command timeout when Options does not say.
const DefaultTimeout = 250 * time.Millisecond

// DefaultBatchAhead is Options.BatchAhead's default.
const DefaultBatchAhead = 10 * time.Millisecond

// Store is the Redis Store. It is safe for concurrent use.
type Store struct {
	client goredis.UniversalClient
	prefix string
	now    func() time.Time

	acquire, setCooldown, getCooldown, setPace, heartbeat *goredis.Script

	// batch is Options.Batch and ahead Options.BatchAhead in µs; leases
	// holds the admissions taken ahead, when batch > 1.
	batch  int
	ahead  int64
	leases *leases
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
	return &Store{
		client: client, prefix: prefix, now: opts.Now,
		batch: max(opts.Batch, 1), ahead: limit.Micros(ahead), leases: newLeases(),
		acquire:     goredis.NewScript(acquireSrc),
		setCooldown: goredis.NewScript(setCooldownSrc),
		getCooldown: goredis.NewScript(getCooldownSrc),
		setPace:     goredis.NewScript(setPaceSrc),
		heartbeat:   goredis.NewScript(heartbeatSrc),
	}
}

// keys returns the scope's hash and lease set, in one Cluster slot.
func (s *Store) keys(scope string) []string {
	base := s.prefix + "{" + scope + "}:"
	return []string{base + "s", base + "l"}
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
	var lkey string
	batched := s.batch > 1 && req.Concurrency <= 0
	if batched {
		lkey = leaseKey(req)
		if g, ok := s.leases.take(req.Scope, lkey, s.clock()); ok {
			return g, nil
		}
	}
	args := []any{s.nowArg(), max(req.Cost, 1), req.Concurrency, limit.Micros(ttl), 0, s.ahead, len(req.Limits)}
	if batched {
		args[4] = s.batch - 1
	}
	for _, l := range req.Limits {
		args = append(args, l.Key, l.GCRA.Interval, l.GCRA.Tolerance)
	}
	keys := s.keys(req.Scope)
	if req.Concurrency <= 0 {
		keys = keys[:1] // the lease set is not touched
	}
	reply, err := s.acquire.Run(ctx, s.client, keys, args...).Slice()
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
	}
	return store.Grant{}, 0, fmt.Errorf("redis store: acquire: unknown reason %q", reason)
}

// parseCooldown reads {until, status, source, headers}.
func parseCooldown(v any) (store.Cooldown, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 4 {
		return store.Cooldown{}, fmt.Errorf("redis store: cooldown: unexpected reply %v", v)
	}
	var s [4]string
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
	if err := errors.Join(err1, err2, err3); err != nil {
		return store.Cooldown{}, fmt.Errorf("redis store: cooldown: %w", err)
	}
	return store.Cooldown{Until: time.UnixMicro(until), Status: status, Source: s[2], Header: h}, nil
}

// Release implements store.Store.
func (s *Store) Release(ctx context.Context, scope string, lease store.Lease) error {
	if lease == (store.Lease{}) {
		return nil
	}
	if err := s.client.ZRem(ctx, s.keys(scope)[1], strconv.FormatUint(lease.ID, 10)).Err(); err != nil {
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
	reply, err := s.setCooldown.Run(ctx, s.client, s.keys(scope)[:1], s.nowArg(), c.Until.UnixMicro(), c.Status, c.Source, string(h)).Result()
	if err != nil {
		return store.Cooldown{}, wrap("set cooldown", err)
	}
	return parseCooldown(reply)
}

// Cooldown implements store.Store.
func (s *Store) Cooldown(ctx context.Context, scope string) (store.Cooldown, bool, error) {
	reply, err := s.getCooldown.Run(ctx, s.client, s.keys(scope)[:1], s.nowArg()).Slice()
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
func (s *Store) SetPace(ctx context.Context, scope string, p store.Pace) error {
	if scope == "" || p.Key == "" {
		return fmt.Errorf("%w: empty scope or pace key", store.ErrInvalid)
	}
	err := s.setPace.Run(ctx, s.client, s.keys(scope)[:1], s.nowArg(), p.Key, p.GCRA.Interval, p.GCRA.Tolerance, p.Until.UnixMicro()).Err()
	if err != nil {
		return wrap("set pace", err)
	}
	return nil
}

// Heartbeat implements store.Presence. A group's members are one sorted set,
// prefix + "{presence:" + group + "}", scored by when each expires; the
// group names upstreams, never credentials.
func (s *Store) Heartbeat(ctx context.Context, group, member string, ttl time.Duration) (int, error) {
	if group == "" || member == "" {
		return 0, fmt.Errorf("%w: empty group or member", store.ErrInvalid)
	}
	key := s.prefix + "{presence:" + group + "}"
	n, err := s.heartbeat.Run(ctx, s.client, []string{key}, s.nowArg(), member, limit.Micros(max(ttl, 0))).Int()
	if err != nil {
		return 0, wrap("heartbeat", err)
	}
	return n, nil
}

// Close implements store.Store: it closes the client. Later calls fail
// with store.ErrClosed.
func (s *Store) Close() error {
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
