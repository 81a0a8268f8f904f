// Package redis is heed's Store for fleets: the state of every scope lives
// in Redis, so that every goroutine, process and machine using one Redis
// (standalone, Sentinel or Cluster, through go-redis's UniversalClient)
// behaves as one careful client.
//
// Every operation on a scope is one Lua script (embedded from lua/, called
// by SHA, reloaded on NOSCRIPT), so it is atomic; the scripts of one
// process's concurrent operations share round trips, and the admissions
// and settlements of one scope in a round trip share one script call (see
// Pipelining).
// Time comes from the server (TIME inside the script) so that hosts with
// skewed clocks agree; tests inject it. A scope's keys share one hash tag,
// {scope}, so a Cluster keeps them in one slot, and every write sets a TTL.
// No key or value holds a credential: scope keys carry only fingerprints.
//
// # Units and Settle
//
// Each limit and pace is charged the request's cost in its own unit
// (requests, tokens, input or output tokens; store.Cost.Charge), in the
// same script. A pace's record keeps its unit as a fifth field, written
// only when it is not requests, so a record of four fields (as earlier
// versions wrote) is a requests pace; while a fleet runs both versions, an
// earlier one drops a five-field record as unreadable, and the pace is
// learned again from the next quota headers. Likewise a cooldown's arrival
// time (cda) names the cooldown it belongs to, so one that an earlier
// version replaced has no At.
//
// Settle is one more script: it moves every limit it is given, and every
// pace in force, by the delta in its unit (limit.GCRA.Adjust), and makes
// the scope's key live at least until the debt it leaves is paid. A zero
// delta sends nothing. Settle does not wait for Redis (see Pipelining).
//
// # Pipelining
//
// A Store sends its commands through one queue. A command that finds no
// round trip in flight and nothing waiting goes at once, alone, from its
// caller's goroutine and with its caller's context, as without
// pipelining: no timer, no added wait (a lone Acquire measured 111 µs, 116
// µs with pipelining off, within noise). While a round trip is in flight,
// the commands that arrive wait, and the next round trip, sent by a
// goroutine of the store, carries them all, at most Options.Pipeline
// (default 128, ?pipeline=) in one go-redis pipeline of EVALSHA calls; the
// rest wait for the one after. One round trip is in
// flight at a time, so the commands run in the order they were queued.
// Each script still runs atomically on its own: a pipeline is not a
// transaction, and one request's script never sees half of another's. On a
// Cluster, go-redis splits each pipeline by slot and asks the nodes at
// once (a MOVED is followed); it counts as one round trip.
//
// Within a round trip, the Acquires (without a concurrency cap) and
// Settles of one scope go as one call of decide.lua, in the place of the
// first of them: it reads the scope's hash once, decides each in the order
// queued exactly as acquire.lua and settle.lua would one after the other
// (settlements first, as always; each sees what those before it wrote; a
// refusal writes nothing, so admissions decided before it stand), writes
// once, and answers each caller its own reply. On a busy scope the
// scripts' calls into Redis (TIME, HMGET, HSET), not their arithmetic,
// were most of the work: a request limit and three token limits cost 36
// µs of server CPU a decision one call each, 22.5 µs batched (one limit:
// 21 and 7.8 µs). One scope's keys share a slot, so a
// Cluster sends the call to one node. A command of the scope that cannot
// join (an Acquire under a concurrency cap, a cooldown, a pace) ends the
// group, and a plain command (a lease's Release) ends every group, so a
// scope's commands still run in the order they were queued. A lone
// command goes as its own script. The contract suite runs through
// decide.lua as well (every operation forced into it), and a test
// compares random batches with one script call at a time.
//
// A caller whose context ends while its command waits or rides in a
// batch stops waiting at once with the context's error. If its command was not sent yet it never is; if it was, it runs
// and its answer is dropped (an admission then is charged and unused, and
// a concurrency lease held until its TTL, as without pipelining). Round trips are sent with a context no
// caller can cancel, bounded by the client's timeouts (Open sets them
// from Options.Timeout; a client given to New should have them too). When
// a round trip fails, every command in it gets the error.
//
// Scripts are loaded on every server (SCRIPT LOAD, which go-redis sends to
// every node of a Cluster) before the first round trip that calls them, so
// that no call meets NOSCRIPT and the calls of a batch run in order. A
// server that lost its scripts (restarted, flushed, failed over) answers
// NOSCRIPT: those calls did not run and are sent again whole (EVAL) in a
// second round trip, after the others of their batch; every script is then
// loaded again before its next use. A call of decide.lua that met NOSCRIPT
// did not run, so it is sent again whole, all its operations with it; if
// its round trip fails, every caller it carries gets the error, and its
// settlements are lost, as below.
//
// Settle queues its correction and returns at once. The next round trip
// carries it, ahead of the commands it carries, so that the Acquire that
// follows a Settle, in any goroutine, sees it; with no other command
// coming, it goes alone after Options.SettleDelay (default 2ms,
// ?settle_delay=). So an LLM request reserves with its Acquire and settles
// on the next one: one round trip a request, settlement included. Each
// settlement is sent at most once: the store never sends a command again
// after a round trip that failed (go-redis may, when its client has
// MaxRetries above 0: Open's has none). A settlement whose round trip
// failed is lost, and the reservation stands as charged, which errs on the
// safe side; Stats counts the settlements sent and lost. Close sends what
// was queued before it, settlements included, waiting at most a second,
// then closes the client; later calls fail with store.ErrClosed.
//
// Measured (bench/RESULTS.md, "Redis decisions, pipelined"; 64 goroutines
// on one scope, one private redis-server, 2 shared cores), with one
// decide.lua call a scope and round trip: one-limit decisions at 3.5x
// (open limit) and 3.3x (contended) go-redis/redis_rate's, from 0.8-1.0x
// without pipelining, at 0.031 round trips a decision (batches of about
// 32); with a request limit and three token limits, 1.56x and 2.0x (1.3x
// and 1.7x pipelined one call a request); with each allowed request also
// settling, 1.26x and 2.2x, still at 0.031 round trips a decision,
// settlements included.
//
// Options.Pipeline 1 turns pipelining off: every command is its own round
// trip from its caller's goroutine, as before, and Settle waits for its
// reply and returns its error. Stats reports round trips and commands
// either way.
//
// # Turns
//
// An Acquire whose request has a Turn (store.Turn) is one call of
// acquire.lua that decides everything at once: the cooldown, the turn,
// the limits and paces, the concurrency cap, the charges and the update
// of the scope's board (fair.Board's arithmetic, operation for operation,
// its float64 tags written with %.17g so that they read back exactly; a
// test runs random turns against the memory store and compares every
// Grant). It is never grouped into decide.lua nor leased ahead: whose
// turn it is depends on the contenders of that moment. A refusal for the
// turn replies {0, wait, "turn", ""}, read as store.ReasonTurn.
//
// The board is two more keys of the scope's hash tag, so a Cluster keeps
// them in the scope's slot: prefix{scope}:f, a hash of V (the classes'
// virtual time), c:<class> ("finish virtual-time" of each class) and C
// (the contenders: per record "until share len(member) len(class)
// len(flow)", a newline, then the three strings), and prefix{scope}:f:<class>,
// a hash of each flow of the class to its finish tag, deleted whenever an
// admission leaves no contender of the class or it holds more than
// fair.MaxClassFlows, and otherwise thinned by two HRANDFIELD samples an
// admission. Every write of either sets a TTL of fair.BoardIdle (an hour)
// past the end of the last place held. A turn adds to the hot path one
// HMGET of the board, one of the class's flows, one more of the board
// when contenders of other classes wait, and an HSET of each written.
//
// The Store is also a store.Presence: processes beat per group (heed's
// Transport: per upstream) into prefix{presence:group}, a sorted set scored
// by expiry, so each knows how many share a limit.
//
// # Blobs
//
// GetBlob, SetBlob and DeleteBlob keep opaque values with a TTL, for a
// shared HTTP cache: the value of key is the string prefix + "cache:" +
// key, where key is hex (a hash the cache made, at most 128 digits), so no
// key names a credential and, with no hash tag, a Cluster spreads the
// entries over its slots. Every SetBlob sets a TTL (SET ... PX), above 0
// and at most MaxBlobTTL (7 days); values are at most Options.MaxBlobBytes
// (default 2 MiB; larger ones fail with ErrBlobTooLarge). They are plain
// GET, SET and DEL commands, no scripts: one key each, nothing to make
// atomic. They go through the same queue as the scripts (so they share
// round trips and Stats counts them) but end no group of decide.lua, since
// they touch no scope's keys. A large value rides in the round trip with
// the admissions queued beside it, and delays their replies by the time it
// takes to send. When Redis cannot be reached, or answers that it cannot
// serve now (LOADING, CLUSTERDOWN, ...), their errors wrap
// store.ErrUnavailable, so that a cache can go on without its shared
// entries.
//
// # Local leasing
//
// By default every Acquire is one script call in Redis (sharing its round
// trip with those of other goroutines, see Pipelining). For limits of
// hundreds or thousands of requests a second, Options.Batch (?batch=)
// lets an Acquire that goes to Redis take up to Batch admissions of the
// scope at once, charged to the shared limits in the same script, and the
// following Acquires of this process for the same scope, limits and cost
// (in every unit: a pace of any unit was charged for them) spend them
// without a round trip.
//
// The cost, with A = Options.BatchAhead (default 10ms) and I the interval of
// the fastest limit (1s / rate): an extra admission is taken only while it
// would be allowed within A of now, and is spent within A of being taken or
// dropped. So each request leaves at most A before or after the moment the
// shared limit would have let it go alone, and in any window of length W
// the whole fleet, however many processes, sends at most what the limit
// allows in W + 2A: the limit's own bound plus ceil(2A/I) requests. A limit
// slower than one request per A (below 100/s at the default) is never
// batched beyond its burst, so it keeps its exact bound. Admissions taken
// ahead do not see a cooldown another process records: for at most A after
// it, each process may still send the few it holds (this process drops its
// own when it records one). The same holds for a Settle that charges more:
// admissions taken ahead were taken before the debt, and this process drops
// its own when it settles one, other processes spend theirs within A.
// Requests under a concurrency cap are never batched: each needs its own
// lease.
//
// With leasing on, a process also remembers each refusal until its wait
// ends and answers the same request itself meanwhile: nothing another
// process does can end a cooldown sooner, and only a Settle that gives
// units back can free a limit sooner, so this never lets a request go
// early. A remembered wait can be shorter than the truth (others may spend
// meanwhile) or, after another process gave units back, longer: then this
// process waits more than it had to, never less. An admission of the scope
// from Redis, or a Settle of it by this process, makes the process forget
// the scope's refusals.
package redis
