package mockapi

import (
	"crypto/sha256"
	"time"
)

// llmState is one credential's LLM state. It is not safe for concurrent
// use; the Server guards it.
type llmState struct {
	meters meters
	// cache is the Anthropic prompt cache: when each prefix expires.
	cache map[[sha256.Size]byte]time.Time
	// spend is the net charge of each Unix second: arrivals plus
	// corrections.
	spend map[int64]cost
}

// llmOf returns the credential's LLM state, creating it if need be.
func (c *credState) llmOf(l LLM) *llmState {
	if c.llm == nil {
		c.llm = &llmState{meters: newMeters(l.limits()),
			cache: make(map[[sha256.Size]byte]time.Time), spend: make(map[int64]cost)}
	}
	return c.llm
}

// cacheUsage splits req's input into cache reads (the longest prefix
// still cached), cache writes (the rest up to the last breakpoint) and
// plain input, as of now.
func (st *llmState) cacheUsage(req llmRequest, now time.Time) Usage {
	var read, written int64
	if n := len(req.prefixes); n > 0 {
		for i := n - 1; i >= 0; i-- {
			if expiry, ok := st.cache[req.prefixes[i].sum]; ok && now.Before(expiry) {
				read = req.prefixes[i].tokens
				break
			}
		}
		written = req.prefixes[n-1].tokens - read
	}
	return Usage{InputTokens: req.input - read - written, CacheCreationInputTokens: written, CacheReadInputTokens: read}
}

// remember caches every prefix of req until now+ttl, and forgets the
// entries that expired.
func (st *llmState) remember(req llmRequest, now time.Time, ttl time.Duration) {
	for sum, expiry := range st.cache {
		if !now.Before(expiry) {
			delete(st.cache, sum)
		}
	}
	for _, p := range req.prefixes {
		st.cache[p.sum] = now.Add(ttl)
	}
}

// record adds c to the spend of now's second.
func (st *llmState) record(now time.Time, c cost) {
	sec := now.Unix()
	sum := st.spend[sec]
	for i := range sum {
		sum[i] += c[i]
	}
	st.spend[sec] = sum
}

// spent returns the net charges of the seconds from..to-1 (Unix).
func (st *llmState) spent(from, to int64) cost {
	var out cost
	for sec, c := range st.spend {
		if sec >= from && sec < to {
			for i := range out {
				out[i] += c[i]
			}
		}
	}
	return out
}

// chargeLLM charges call at arrival to its credential's buckets, or
// refuses it. A refusal that can pass later tells the credential to wait.
func (s *Server) chargeLLM(a *admission, call *llmCall) verdict {
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	now = s.advance(now)
	call.created = now
	if a.gen != s.gen {
		return verdict{allowed: true} // a Reset came between: neither charged nor counted
	}
	c := s.creds[a.credID]
	st := c.llmOf(s.cfg.LLM)
	call.usage = st.cacheUsage(call.req, now)
	call.arrival = s.llm.arrivalCost(call.req, call.usage)
	v := st.meters.charge(now, call.arrival)
	if !v.allowed {
		c.counts.Tokens.refuse(v)
		s.total.Tokens.refuse(v)
		if !v.never {
			c.tell(now.Add(v.wait))
		}
		return v
	}
	call.charged = true
	st.remember(call.req, now, s.cfg.LLM.CacheTTL)
	st.record(now, call.arrival)
	c.counts.Tokens.charge(call.arrival)
	s.total.Tokens.charge(call.arrival)
	return v
}

// settleLLM corrects a charged call to what it cost in the end: its input
// and the output it sent (all of it, or what a client that left received).
func (s *Server) settleLLM(a *admission, call *llmCall) {
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !call.charged || a.gen != s.gen {
		return
	}
	now = s.advance(now)
	call.final = s.llm.finalCost(call.usage)
	call.settled = true
	c := s.creds[a.credID]
	c.llm.meters.correct(now, call.arrival, call.final)
	delta := call.final.minus(call.arrival)
	c.llm.record(now, delta)
	c.counts.Tokens.settle(delta, call.usage)
	s.total.Tokens.settle(delta, call.usage)
}
