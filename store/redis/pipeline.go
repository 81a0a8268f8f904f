package redis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/store"
)

// pipeline sends the commands of one Store in batches (see "Pipelining" in
// the package doc): while a round trip is in flight, the commands that
// arrive wait, and the next round trip carries them all, up to max,
// settlements first, from a sender goroutine. A command that finds nothing
// in flight or waiting goes at once, from its caller's goroutine. It is
// safe for concurrent use.
type pipeline struct {
	client goredis.UniversalClient
	max    int           // most commands in one round trip
	delay  time.Duration // how long a settlement waits for a round trip to carry it
	stats  *counters
	// decide is decide.lua, which carries the acquires and settlements of
	// one scope in a batch as one call; always makes it carry even a lone
	// one (tests only: so that the contract suite runs through it).
	decide *goredis.Script
	always bool

	mu      sync.Mutex    // guards the fields below
	settles []*call       // settlements not yet sent, in order
	queue   []*call       // other commands not yet sent, in order
	busy    bool          // a sender goroutine is running: it takes what waits
	armed   bool          // timer will flush the settlements
	timer   *time.Timer   // made when first armed
	closed  bool          // Close was called: nothing more is taken
	idle    chan struct{} // closed when the sender ends after Close

	// loaded holds the scripts known to be loaded on every server. Only
	// the sender touches it (one at a time: p.busy hands it over under
	// p.mu).
	loaded map[*goredis.Script]bool
}

// call is one command waiting for its round trip: a script call, or a plain
// command (script nil, args the command and its arguments).
type call struct {
	script *goredis.Script
	keys   []string
	args   []any
	// op is the command as one operation of decide.lua (see its header),
	// or nil when it cannot be one: then it goes as it is.
	op []any
	// apart marks a plain command that touches no scope's keys (a blob's):
	// it ends no group of decide.lua, since no scope's order depends on it.
	apart bool
	// members are the calls that a call of decide.lua carries, in order;
	// its reply is split among them.
	members []*call
	// cmd is the reply, once done is closed (or, for a settlement, once
	// sent).
	cmd *goredis.Cmd
	// done is closed when cmd is ready; nil for a settlement, for which
	// nobody waits.
	done chan struct{}
	// gone is set when the caller stopped waiting: if it has not been sent
	// yet, it never is.
	gone atomic.Bool
}

// counters are the Store's Stats, counted as commands are sent.
type counters struct {
	roundTrips, commands, settles, settlesLost atomic.Int64
}

func newPipeline(client goredis.UniversalClient, max int, delay time.Duration, stats *counters, decide *goredis.Script) *pipeline {
	return &pipeline{client: client, max: max, delay: delay, stats: stats, decide: decide, loaded: make(map[*goredis.Script]bool)}
}

// do sends c with the next round trip and waits for its reply, or until ctx
// is done. A caller that stops waiting does not disturb the others: its
// command is dropped if not yet sent, its reply ignored if it was.
func (p *pipeline) do(ctx context.Context, c *call) *goredis.Cmd {
	if err := ctx.Err(); err != nil {
		return errCmd(ctx, err)
	}
	c.done = make(chan struct{})
	alone, err := p.enqueue(c, false)
	if err != nil {
		return errCmd(ctx, err)
	}
	if alone {
		// Nothing in flight or waiting: c goes at once from this
		// goroutine, with its own context, as without pipelining.
		p.send(ctx, []*call{c})
		p.handOff()
		return c.cmd
	}
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		c.gone.Store(true)
		return errCmd(ctx, ctx.Err())
	}
}

// post queues the settlement c and returns at once: the next round trip
// carries it, before the commands it carries; the timer sends it after
// p.delay if no round trip comes.
func (p *pipeline) post(c *call) error {
	_, err := p.enqueue(c, true)
	return err
}

// enqueue queues c, and starts a sender if none runs and c is not a
// settlement (for which the timer is armed instead). It reports alone when
// nothing is in flight or waiting: then c is not queued, and its caller is
// the sender, for c only.
func (p *pipeline) enqueue(c *call, settle bool) (alone bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false, store.ErrClosed
	}
	if !settle && !p.busy && len(p.settles)+len(p.queue) == 0 {
		p.busy = true
		return true, nil
	}
	if settle {
		p.settles = append(p.settles, c)
	} else {
		p.queue = append(p.queue, c)
	}
	switch {
	case p.busy: // the running sender takes it
	case !settle:
		p.busy = true
		go p.drain()
	case !p.armed:
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.delay, p.flush)
		} else {
			p.timer.Reset(p.delay)
		}
	}
	return false, nil
}

// handOff ends a lone caller's turn as sender: what arrived meanwhile goes
// with a sender goroutine.
func (p *pipeline) handOff() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.settles)+len(p.queue) > 0 {
		go p.drain()
		return
	}
	p.busy = false
	if p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
}

// flush runs when a settlement has waited p.delay: it sends what waits
// unless a sender already runs.
func (p *pipeline) flush() {
	p.mu.Lock()
	p.armed = false
	start := !p.busy && len(p.settles)+len(p.queue) > 0
	if start {
		p.busy = true
	}
	p.mu.Unlock()
	if start {
		p.drain()
	}
}

// drain is the sender: it sends batches until nothing waits. p.busy was set
// by whoever started it.
func (p *pipeline) drain() {
	for {
		batch := p.take()
		if batch == nil {
			return
		}
		p.send(context.Background(), batch)
	}
}

// take removes the next batch: settlements first, then the other commands
// in order, at most p.max, skipping commands whose callers stopped waiting.
// With nothing left it ends the sender's turn and returns nil.
func (p *pipeline) take() []*call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var batch []*call
	batch, p.settles = takeCalls(batch, p.settles, p.max)
	batch, p.queue = takeCalls(batch, p.queue, p.max)
	if len(batch) > 0 {
		return batch
	}
	p.busy = false
	if p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
	return nil
}

// takeCalls moves calls from the front of q to batch until batch holds max,
// dropping those whose callers stopped waiting, and returns both.
func takeCalls(batch, q []*call, max int) ([]*call, []*call) {
	i := 0
	for ; i < len(q) && len(batch) < max; i++ {
		if c := q[i]; !c.gone.Load() {
			batch = append(batch, c)
		} else {
			close(c.done)
		}
	}
	if i == len(q) {
		return batch, q[:0:0] // a fresh array: the old one holds sent calls
	}
	return batch, q[i:]
}

// send makes one round trip of batch, and a second for the script calls
// that met NOSCRIPT (they did not run, so running them again is their first
// time), then hands each reply to its caller.
//
// The calls of a batch run in order, settlements first, only if none meets
// NOSCRIPT: so each script is loaded on every server (SCRIPT LOAD, on every
// node of a Cluster) before the first batch that calls it by SHA, and all
// of them again after any NOSCRIPT. Only when a server loses its scripts
// (a restart, SCRIPT FLUSH, a failover) may the calls of the one batch that
// first meets NOSCRIPT run out of order: those that met it run after the
// others.
func (p *pipeline) send(ctx context.Context, batch []*call) {
	wire := p.group(batch)
	if err := p.load(ctx, wire); err != nil {
		for _, c := range wire {
			c.cmd = errCmd(ctx, err)
			p.finish(ctx, c)
		}
		return
	}
	p.exec(ctx, wire, false)
	var again []*call
	for _, c := range wire {
		if c.script != nil && isNoScript(c.cmd.Err()) {
			again = append(again, c)
		}
	}
	if len(again) > 0 {
		// A server that lost one script lost them all: each is loaded
		// again before its next batch.
		clear(p.loaded)
		p.exec(ctx, again, true)
	}
	for _, c := range wire {
		p.finish(ctx, c)
	}
}

// group returns the commands to send for batch: the acquires and
// settlements of one scope (and one injected time) become one call of
// decide.lua, in the place of the first of them and in their order, which
// runs them as their own scripts would one after the other. A command of
// the scope that cannot join (an acquire under a concurrency cap, a
// cooldown, a pace) ends the group, so that the scope's commands still run
// in the order they were queued; a plain command (a lease's release) ends
// every group, unless it is apart (a blob's). A group of one is sent as it
// is, unless p.always.
func (p *pipeline) group(batch []*call) []*call {
	if len(batch) < 2 && !p.always {
		return batch
	}
	type open struct {
		at  int // index in wire
		now any // the injected time, or ""
	}
	groups := make(map[string]open)
	wire := make([]*call, 0, len(batch))
	for _, c := range batch {
		if c.script == nil {
			if !c.apart {
				clear(groups)
			}
			wire = append(wire, c)
			continue
		}
		key := c.keys[0]
		g, ok := groups[key]
		switch {
		case c.op == nil:
			delete(groups, key)
			wire = append(wire, c)
		case ok && g.now == c.args[0]:
			wire[g.at].members = append(wire[g.at].members, c)
		default:
			groups[key] = open{at: len(wire), now: c.args[0]}
			wire = append(wire, &call{script: p.decide, keys: c.keys[:1], members: []*call{c}})
		}
	}
	for i, c := range wire {
		if c.members == nil {
			continue
		}
		if len(c.members) == 1 && !p.always {
			wire[i] = c.members[0]
			continue
		}
		n := 2
		for _, m := range c.members {
			n += len(m.op)
		}
		c.args = make([]any, 0, n)
		c.args = append(c.args, c.members[0].args[0], len(c.members))
		for _, m := range c.members {
			c.args = append(c.args, m.op...)
		}
	}
	return wire
}

// load loads the scripts batch calls that are not known to be loaded. Its
// error fails the whole batch, unsent: a server that cannot load a script
// would most likely fail the batch too, a round trip later.
func (p *pipeline) load(ctx context.Context, batch []*call) error {
	for _, c := range batch {
		if c.script == nil || p.loaded[c.script] {
			continue
		}
		p.stats.roundTrips.Add(1)
		p.stats.commands.Add(1)
		if err := c.script.Load(ctx, p.client).Err(); err != nil {
			return err
		}
		p.loaded[c.script] = true
	}
	return nil
}

// exec sends calls in one pipeline; each call's cmd holds its own reply or
// error. eval sends scripts whole (EVAL, which also loads them) instead of
// by SHA.
func (p *pipeline) exec(ctx context.Context, calls []*call, eval bool) {
	p.stats.roundTrips.Add(1)
	p.stats.commands.Add(int64(len(calls)))
	if len(calls) == 1 { // alone: go-redis's plain path costs less than a pipeline
		calls[0].cmd = calls[0].issue(ctx, p.client, eval)
		return
	}
	_, err := p.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = c.issue(ctx, pipe, eval)
		}
		return nil
	})
	if err == nil {
		return
	}
	// A command with neither a reply nor an error was never answered (a
	// hook or the client failed the pipeline before it went): it gets the
	// pipeline's error. Every command answered keeps its own.
	for _, c := range calls {
		if c.cmd.Err() == nil && c.cmd.Val() == nil {
			c.cmd.SetErr(err)
		}
	}
}

// finish hands c's reply to its caller, or for a call of decide.lua each
// member's to its own; a settlement that failed is counted lost (never
// sent again: see "Settle" in the package doc).
func (p *pipeline) finish(ctx context.Context, c *call) {
	if c.members != nil {
		c.split(ctx)
		for _, m := range c.members {
			p.finish(ctx, m)
		}
		return
	}
	if c.done != nil {
		close(c.done)
		return
	}
	p.stats.settles.Add(1)
	if c.cmd.Err() != nil {
		p.stats.settlesLost.Add(1)
	}
}

// split hands each member of a call of decide.lua its reply: its own
// element of the call's reply, or the call's error.
func (c *call) split(ctx context.Context) {
	err := c.cmd.Err()
	r, ok := c.cmd.Val().([]any)
	if err == nil && (!ok || len(r) != len(c.members)) {
		err = fmt.Errorf("redis store: decide: reply %T of %d elements, want %d", c.cmd.Val(), len(r), len(c.members))
	}
	for i, m := range c.members {
		if err != nil {
			m.cmd = errCmd(ctx, err)
			continue
		}
		m.cmd = goredis.NewCmd(ctx)
		m.cmd.SetVal(r[i])
	}
}

// sender is what a call is issued to: a pipeline, or a client.
type sender interface {
	goredis.Scripter
	Do(ctx context.Context, args ...any) *goredis.Cmd
}

// issue adds c to pipe (or sends it, when pipe is a client) and returns its
// command.
func (c *call) issue(ctx context.Context, pipe sender, eval bool) *goredis.Cmd {
	switch {
	case c.script == nil:
		return pipe.Do(ctx, c.args...)
	case eval:
		return c.script.Eval(ctx, pipe, c.keys, c.args...)
	}
	return c.script.EvalSha(ctx, pipe, c.keys, c.args...)
}

// close stops taking commands and waits, at most wait, for the sender to
// send what was queued before, settlements included.
func (p *pipeline) close(wait time.Duration) {
	p.mu.Lock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.armed = false
	}
	if !p.busy && len(p.settles)+len(p.queue) > 0 {
		p.busy = true
		go p.drain()
	}
	var idle chan struct{}
	if p.busy {
		if p.idle == nil {
			p.idle = make(chan struct{})
		}
		idle = p.idle
	}
	p.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// isNoScript reports whether err is Redis's NOSCRIPT: the script is not
// loaded on that server (a restart, SCRIPT FLUSH, a new Cluster node).
func isNoScript(err error) bool {
	return err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT")
}

// errCmd returns a command that failed with err before it was sent.
func errCmd(ctx context.Context, err error) *goredis.Cmd {
	cmd := goredis.NewCmd(ctx)
	cmd.SetErr(err)
	return cmd
}

// run sends c and returns its reply: through the pipeline, or alone when
// pipelining is off.
func (s *Store) run(ctx context.Context, c *call) *goredis.Cmd {
	if s.pipe != nil {
		return s.pipe.do(ctx, c)
	}
	s.stats.roundTrips.Add(1)
	s.stats.commands.Add(1)
	cmd := c.issue(ctx, s.client, false)
	if c.script != nil && isNoScript(cmd.Err()) {
		s.stats.roundTrips.Add(1)
		s.stats.commands.Add(1)
		cmd = c.issue(ctx, s.client, true)
	}
	return cmd
}

// post sends the settlement c: queued for the next round trip, or, when
// pipelining is off, at once and waiting for its reply.
func (s *Store) post(ctx context.Context, c *call) error {
	if s.pipe != nil {
		return s.pipe.post(c)
	}
	s.stats.settles.Add(1)
	err := s.run(ctx, c).Err()
	if err != nil {
		s.stats.settlesLost.Add(1)
	}
	return err
}

// Stats counts what a Store has sent since New.
type Stats struct {
	// RoundTrips counts the pipelines and lone commands sent: each is one
	// round trip (a Cluster pipeline reaching several nodes counts once:
	// its nodes are asked at the same time).
	RoundTrips int64
	// Commands counts the commands sent: a script called again after
	// NOSCRIPT, and SCRIPT LOAD (each its own round trip), included. A
	// call of decide.lua counts once, however many Acquires and Settles
	// it carries.
	Commands int64
	// Settles counts the settlements sent, and SettlesLost those of them
	// whose round trip failed: they are not sent again, and leave the
	// reservation as charged.
	Settles, SettlesLost int64
}

// Stats returns what the Store has sent so far. It is safe to call at any
// time, and cheap: the heed core reads it to report store round trips per
// request.
func (s *Store) Stats() Stats {
	return Stats{
		RoundTrips:  s.stats.roundTrips.Load(),
		Commands:    s.stats.commands.Load(),
		Settles:     s.stats.settles.Load(),
		SettlesLost: s.stats.settlesLost.Load(),
	}
}
