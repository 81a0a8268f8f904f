package cli

import (
	"context"
	"sync"
	"time"

	"github.com/heedhq/heed/llm"
)

// The estimate client paces as the OpenAI cookbook's parallel request
// processor (api_request_parallel_processor.py) does, in one process: a
// bucket per limit, full at first and refilling a limit's worth a minute;
// a request leaves when each bucket holds its charge, which is then taken
// from all of them; the charge is its estimated prompt plus max_tokens,
// and nothing is ever given back, whatever the answer used.

// estimateKinds are the pacer's buckets: requests, input tokens, output
// tokens.
const (
	estimateRequests = iota
	estimateInput
	estimateOutput
	numEstimateKinds
)

// estimateCharge returns what the pacer charges a Messages request with
// body: one request, package llm's estimate of its prompt, its
// max_tokens.
func estimateCharge(body []byte) [numEstimateKinds]float64 {
	e, _ := llm.Anthropic.Estimate(llmPath, body, int64(len(body)), llm.EstimateOptions{})
	return [numEstimateKinds]float64{1, float64(e.Input), float64(e.Output)}
}

// tokenBucket is a bucket of capacity units that refills capacity per
// minute, continuously, never beyond capacity. Its methods take the time
// as an argument and never read the clock.
type tokenBucket struct {
	capacity float64
	level    float64
	// at is when level was last brought up to date.
	at time.Time
}

// newTokenBucket returns a full bucket of capacity units a minute, as of
// now.
func newTokenBucket(capacity float64, now time.Time) tokenBucket {
	return tokenBucket{capacity: capacity, level: capacity, at: now}
}

// refilled returns b as of now: what it refilled since b.at added, up to
// capacity. A now before b.at changes nothing.
func (b tokenBucket) refilled(now time.Time) tokenBucket {
	if now.After(b.at) {
		b.level = min(b.capacity, b.level+b.capacity*now.Sub(b.at).Minutes())
		b.at = now
	}
	return b
}

// wait returns how long after b.at the bucket holds n units: 0 when it
// does. n larger than capacity waits for a full bucket (the pacer then
// lets it overdraw, so that it is not stuck forever).
func (b tokenBucket) wait(n float64) time.Duration {
	short := min(n, b.capacity) - b.level
	if short <= 0 {
		return 0
	}
	return time.Duration(short/b.capacity*float64(time.Minute)) + 1 // rounded up to a nanosecond
}

// estimatePacer is the cookbook's pacer over the llm scenario's buckets. It
// is safe for concurrent use.
type estimatePacer struct {
	mu      sync.Mutex // guards buckets
	buckets [numEstimateKinds]tokenBucket
}

// newEstimatePacer returns the pacer, its buckets full as of now.
func newEstimatePacer(b llmBuckets, now time.Time) *estimatePacer {
	p := &estimatePacer{}
	for i, capacity := range [numEstimateKinds]int64{b.requests, b.input, b.output} {
		p.buckets[i] = newTokenBucket(float64(capacity), now)
	}
	return p
}

// take takes charge from every bucket as of now if each holds it and
// returns 0, else takes nothing and returns how long to wait before
// asking again.
func (p *estimatePacer) take(now time.Time, charge [numEstimateKinds]float64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var wait time.Duration
	for i := range p.buckets {
		p.buckets[i] = p.buckets[i].refilled(now)
		wait = max(wait, p.buckets[i].wait(charge[i]))
	}
	if wait > 0 {
		return wait
	}
	for i := range p.buckets {
		p.buckets[i].level -= charge[i]
	}
	return 0
}

// wait blocks until charge is taken, or returns ctx's error.
func (p *estimatePacer) wait(ctx context.Context, charge [numEstimateKinds]float64) error {
	for {
		d := p.take(time.Now(), charge)
		if d == 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
