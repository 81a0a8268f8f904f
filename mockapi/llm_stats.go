package mockapi

import "time"

// Buckets holds one number for each LLM bucket: requests (RPM), tokens
// (OpenAI's TPM), input tokens (Anthropic's ITPM) and output tokens
// (Anthropic's OTPM).
type Buckets struct {
	Requests     int64 `json:"requests"`
	Tokens       int64 `json:"tokens"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// bucketsOf returns c as Buckets.
func bucketsOf(c cost) Buckets {
	return Buckets{Requests: c[bucketRequests], Tokens: c[bucketTokens],
		InputTokens: c[bucketInputTokens], OutputTokens: c[bucketOutputTokens]}
}

// add adds c to b.
func (b *Buckets) add(c cost) {
	sum := bucketsOf(c)
	b.Requests += sum.Requests
	b.Tokens += sum.Tokens
	b.InputTokens += sum.InputTokens
	b.OutputTokens += sum.OutputTokens
}

// Usage is the true usage of LLM responses: what the mock counted (see the
// package doc) and reported in their usage. For OpenAI, InputTokens is
// prompt_tokens and OutputTokens completion_tokens (all n choices); the
// cache fields are Anthropic's.
type Usage struct {
	InputTokens              int64 `json:"input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
}

// add adds u to v.
func (v *Usage) add(u Usage) {
	v.InputTokens += u.InputTokens
	v.CacheCreationInputTokens += u.CacheCreationInputTokens
	v.CacheReadInputTokens += u.CacheReadInputTokens
	v.OutputTokens += u.OutputTokens
}

// TokenCounts are the LLM counters of one credential, or of all of them
// together. A request the buckets refused counts in Refused (and in
// Counts.Limited) only.
type TokenCounts struct {
	// AtArrival is what the charged requests were charged when they
	// arrived.
	AtArrival Buckets `json:"at_arrival"`
	// Charged is what they are charged now: AtArrival, corrected at the
	// end for the requests that ended (Settled).
	Charged Buckets `json:"charged"`
	// Settled counts the charged requests that ended and were corrected.
	Settled int `json:"settled"`
	// Refused counts, for each bucket, the requests refused because that
	// bucket lacked room (one request may count in several).
	Refused Buckets `json:"refused"`
	// Usage is the true usage of the settled requests.
	Usage Usage `json:"usage"`
}

// charge counts an arrival charge.
func (t *TokenCounts) charge(c cost) {
	t.AtArrival.add(c)
	t.Charged.add(c)
}

// settle counts a correction by delta, and the request's usage.
func (t *TokenCounts) settle(delta cost, u Usage) {
	t.Charged.add(delta)
	t.Settled++
	t.Usage.add(u)
}

// refuse counts a refusal by the buckets v names.
func (t *TokenCounts) refuse(v verdict) {
	var c cost
	for i, short := range v.short {
		if short {
			c[i] = 1
		}
	}
	t.Refused.add(c)
}

// LLMEntry is what the request log says of an LLM request that was read.
type LLMEntry struct {
	Model     string `json:"model"`
	Stream    bool   `json:"stream"`
	MaxTokens int64  `json:"max_tokens"`
	// AtArrival is what the request was charged at arrival (zero when the
	// buckets refused it); Charged what it was charged in the end.
	AtArrival Buckets `json:"at_arrival"`
	Charged   Buckets `json:"charged"`
	// Usage is its true usage, as its response reported it.
	Usage Usage `json:"usage"`
	// FirstChunk is when the first event of a stream was flushed to the
	// client (by Config.Now, in UTC); zero for an answer that is not a
	// stream.
	FirstChunk time.Time `json:"first_chunk,omitzero"`
}

// entry returns the log's view of call.
func (call *llmCall) entry() *LLMEntry {
	e := &LLMEntry{Model: call.req.model, Stream: call.req.stream, MaxTokens: call.req.maxTokens,
		FirstChunk: call.firstChunk}
	if call.charged {
		e.AtArrival, e.Charged, e.Usage = bucketsOf(call.arrival), bucketsOf(call.arrival), call.usage
	}
	if call.settled {
		e.Charged = bucketsOf(call.final)
	}
	return e
}

// TokenUse is how much of one credential's LLM buckets was charged over a
// span of time.
type TokenUse struct {
	// From and To are the span, rounded out to whole seconds (charges are
	// kept per second).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Requests, Tokens, InputTokens and OutputTokens are the buckets.
	Requests     BucketUse `json:"requests"`
	Tokens       BucketUse `json:"tokens"`
	InputTokens  BucketUse `json:"input_tokens"`
	OutputTokens BucketUse `json:"output_tokens"`
}

// BucketUse is what one bucket was charged over a span.
type BucketUse struct {
	// Limit is the bucket's limit per minute; 0 when it is off.
	Limit int64 `json:"limit"`
	// Charged is the net charge of the span: arrivals in it, plus or minus
	// the corrections made in it.
	Charged int64 `json:"charged"`
	// Fraction is Charged over what the bucket refills in the span
	// (Limit × span / 1 minute); 0 when the bucket is off. A bucket is full
	// at first, so over a span of a few minutes a client that drains it can
	// exceed 1 by up to 1 minute / span.
	Fraction float64 `json:"fraction"`
}

// TokenUse returns what the credential credID (see CredID) was charged in
// each LLM bucket over [from, to), with from rounded down and to rounded up
// to whole seconds, and the fraction of each bucket's limit that is. The
// span covers requests still in flight at their arrival charge.
func (s *Server) TokenUse(credID string, from, to time.Time) TokenUse {
	from, to = from.Truncate(time.Second).UTC(), ceilToSecond(to).UTC()
	u := TokenUse{From: from, To: to}
	var spent cost
	s.mu.Lock()
	if c, ok := s.creds[credID]; ok && c.llm != nil {
		spent = c.llm.spent(from.Unix(), to.Unix())
	}
	s.mu.Unlock()
	limits := s.cfg.LLM.limits()
	uses := [numBuckets]*BucketUse{&u.Requests, &u.Tokens, &u.InputTokens, &u.OutputTokens}
	minutes := to.Sub(from).Minutes()
	for i, b := range uses {
		b.Limit, b.Charged = limits[i], spent[i]
		if b.Limit > 0 && minutes > 0 {
			b.Fraction = float64(b.Charged) / (float64(b.Limit) * minutes)
		}
	}
	return u
}
