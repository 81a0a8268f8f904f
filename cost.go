package heed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// What a request costs, for the limits that count tokens: its estimate
// before it leaves (package llm reads the body), charged by the admission
// with its request in one store operation; and its settlement once its
// usage is known, which gives back (or charges) the difference, once.
//
//	admit   charge   requests 1, input tokens the estimate, output tokens the maximum, tokens their sum
//	answer  2xx      the body is metered as it passes to the caller; at its end the usage settles the charge
//	        4xx/5xx  the tokens are given back (the API charged none); the request stays charged
//	        error    the charge stands (the API may have seen the request)
//	        no usage the charge stands (a stream cut, a body never read)
//
// Tokens are counted in granules: a limit of many tokens a minute would
// give the store's microsecond GCRA an interval of a fraction of a
// microsecond, so each token unit of an upstream counts granule tokens as
// one (a power of ten, chosen so that every token limit's interval is at
// least minGranuleInterval). A request is charged its tokens rounded up to
// whole granules: at most one granule more than it costs.

// maxEstimateBody is how much of a request's body heed reads to estimate
// it; a bigger body (images inlined as base64, say) is priced from what
// was read and its size (see llm.Vendor.Estimate).
const maxEstimateBody = 1 << 20

// minGranuleInterval is the shortest interval a token limit's GCRA may
// have, in microseconds: rounding it to whole microseconds then costs at
// most 1% of the limit.
const minGranuleInterval = 100

// maxGranuleBurst bounds a token limit's burst in granules (limit.NewGCRA's
// bound).
const maxGranuleBurst = 1 << 20

// defaultGranule is the granule of a token unit no configured limit
// counts, whose quota heed may learn from the API's headers.
const defaultGranule = 10

// Pricing returns how the upstream's requests are priced in tokens: its
// Cost, else the one its base URL's host names, else its Vendor's, else
// llm.None. The error is Cost's, when it names no vendor.
func (u Upstream) Pricing() (llm.Vendor, error) { return costOf(u) }

// costOf returns how an upstream's requests are priced: its Cost, else
// the one its base URL's host names, else its Vendor's, else none.
func costOf(u Upstream) (llm.Vendor, error) {
	if u.Cost != "" {
		return llm.ParseVendor(u.Cost)
	}
	if parsed, err := url.Parse(u.BaseURL); err == nil {
		if v := llm.VendorOfHost(parsed.Hostname()); v != llm.None {
			return v, nil
		}
	}
	if v, err := llm.ParseVendor(u.Vendor); err == nil {
		return v, nil
	}
	return llm.None, nil
}

// granuleOf returns how many tokens count as one unit of a limit of amount
// tokens per per: the smallest power of ten that keeps its interval at
// least minGranuleInterval and its burst within maxGranuleBurst.
func granuleOf(amount int64, per time.Duration) int64 {
	most := min(per.Microseconds()/minGranuleInterval, maxGranuleBurst)
	g := int64(1)
	for most > 0 && amount/g > most && g < 1e15 {
		g *= 10
	}
	return g
}

// granules returns tokens in whole granules of g, rounded up.
func granules(tokens, g int64) int64 {
	if tokens <= 0 {
		return 0
	}
	return (tokens + g - 1) / g
}

// pricing is how an upstream turns an estimate or a usage into a
// store.Cost: its vendor and the granule of each unit.
type pricing struct {
	vendor        llm.Vendor
	defaultOutput int64
	tokenizer     llm.Tokenizer // nil: llm's default
	granule       [4]int64      // by store.Unit; requests is 1
}

// newPricing returns the pricing of u, whose token limits set the
// granules.
func newPricing(u Upstream, vendor llm.Vendor, tok llm.Tokenizer) pricing {
	p := pricing{vendor: vendor, defaultOutput: u.DefaultOutputTokens, granule: [4]int64{1, 0, 0, 0}}
	if vendor == llm.OpenAI {
		p.tokenizer = tok // Anthropic's tokenizer is not OpenAI's: llm's estimate is fitted for it
	}
	for _, l := range u.Limits {
		if unit := l.Unit(); unit != store.UnitRequests {
			p.granule[unit] = max(p.granule[unit], granuleOf(l.Amount(), l.Per+ArrivalJitter))
		}
	}
	for unit := range p.granule {
		if p.granule[unit] == 0 {
			p.granule[unit] = defaultGranule
		}
	}
	return p
}

// gcra returns the GCRA of a configured limit: in requests, or in the
// granules of its token unit, whose burst is then the whole amount unless
// the limit says.
func (p pricing) gcra(l Limit, headroom float64) (limit.GCRA, error) {
	unit, amount, burst := l.Unit(), l.Amount(), l.Burst
	if unit != store.UnitRequests {
		g := p.granule[unit]
		amount = granules(amount, g)
		if burst == 0 {
			burst = amount
		} else {
			burst = granules(burst, g)
		}
	}
	return limit.NewGCRA(amount, l.Per+ArrivalJitter, burst, headroom)
}

// unitOf returns the unit a quota an API reported counts in, for a
// priced upstream: its name says ("tokens", "input-tokens",
// "output-tokens", as package quota names OpenAI's and Anthropic's);
// requests for any other quota, and for every quota of an unpriced one.
func (p pricing) unitOf(q quota.Quota) store.Unit {
	if !p.priced() {
		return store.UnitRequests
	}
	switch q.Name {
	case "tokens":
		return store.UnitTokens
	case "input-tokens":
		return store.UnitInputTokens
	case "output-tokens":
		return store.UnitOutputTokens
	}
	return store.UnitRequests
}

// priced reports whether requests cost tokens.
func (p pricing) priced() bool { return p.vendor != llm.None }

// tokens is a request's cost in tokens: input and output.
type tokens struct{ input, output int64 }

// estimate is what pricing.estimate found of a request: its tokens, its
// model (for llm.Vendor.Charged) and whether its response will report a
// usage to settle with.
type estimate struct {
	tokens
	model  string
	usage  bool
	priced bool
}

// cost returns what tokens cost in the store's units, in granules.
func (p pricing) cost(t tokens) store.Cost {
	return store.Cost{
		Requests:     1,
		Tokens:       granules(t.input+t.output, p.granule[store.UnitTokens]),
		InputTokens:  granules(t.input, p.granule[store.UnitInputTokens]),
		OutputTokens: granules(t.output, p.granule[store.UnitOutputTokens]),
	}
}

// estimate prices req before it leaves, or reports it unpriced (a
// request to list models costs only a request). It reads at most
// maxEstimateBody of the body through GetBody, or, when the request has
// none, from the body itself, which it then puts back whole in front of
// the rest (returning the request to send instead).
func (p pricing) estimate(req *http.Request) (estimate, *http.Request) {
	if !p.priced() || req.Method != http.MethodPost || req.Body == nil || req.Body == http.NoBody {
		return estimate{}, req
	}
	head, out, err := readHead(req, maxEstimateBody)
	if err != nil {
		return estimate{}, out
	}
	e, ok := p.vendor.Estimate(req.URL.Path, head, req.ContentLength, llm.EstimateOptions{DefaultOutput: p.defaultOutput, Tokenizer: p.tokenizer})
	if !ok {
		return estimate{}, out
	}
	return estimate{tokens: tokens{input: e.Input, output: e.Output}, model: e.Model, usage: e.UsageReported, priced: true}, out
}

// readHead reads up to n bytes of req's body without taking them from the
// request that is sent: from a copy GetBody makes, or else from the body,
// which the returned request (a shallow copy) replays whole.
func readHead(req *http.Request, n int64) ([]byte, *http.Request, error) {
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, req, err
		}
		defer b.Close()
		head, err := io.ReadAll(io.LimitReader(b, n))
		return head, req, err
	}
	head, err := io.ReadAll(io.LimitReader(req.Body, n))
	out := *req
	var tail io.Reader = req.Body
	if err != nil {
		tail = errReader{err: err}
	}
	out.Body = peekedBody{Reader: io.MultiReader(bytes.NewReader(head), tail), closer: req.Body}
	return head, &out, err
}

// charge is what an admission charged, for settle: the limits it was
// charged under and its cost in the store's units.
type charge struct {
	limits  []store.Limit
	cost    store.Cost
	est     estimate // what the cost was made of
	settled bool
}

// hasTokens reports whether the charge holds tokens to settle.
func (ch charge) hasTokens() bool {
	return ch.cost.Tokens != 0 || ch.cost.InputTokens != 0 || ch.cost.OutputTokens != 0
}

// settleAttempt settles the charge of the attempt whose outcome is out:
// at the end of a successful body, from its usage; at once for a refusal
// or an error the API answered (it charged no tokens); not for a
// transport error (the API may have seen the request).
func (c *call) settleAttempt(out *outcome) {
	c.freeNotModified(out)
	ch := c.charge
	if !ch.hasTokens() || ch.settled || out.resp == nil {
		return
	}
	c.charge.settled = true
	s := c.settler(ch)
	switch {
	case out.resp.StatusCode >= 300:
		s.settle(tokens{}, false)
		return
	case !ch.est.usage: // an OpenAI stream that asked for no usage: the charge stands
		return
	}
	vendor, model := c.u.pricing.vendor, ch.est.model
	m := &lockedMeter{m: vendor.Meter(out.resp.Header.Get("Content-Type"))}
	b := bodyOf(out.resp)
	b.tap = m
	b.done = append(b.done, func() {
		if u, ok := m.Usage(); ok {
			in, outTokens := vendor.Charged(u, model)
			s.settle(tokens{input: in, output: outTokens}, true)
		}
	})
}

// freeNotModified gives back the request the attempt was charged under
// the request limits when the API answered 304 and does not charge those
// (CachePolicy.Free304).
func (c *call) freeNotModified(out *outcome) {
	if out.resp == nil || out.resp.StatusCode != http.StatusNotModified || c.u.rc == nil || !c.u.rc.free304 {
		return
	}
	var limits []store.Limit
	for _, l := range c.charge.limits {
		if l.Unit == store.UnitRequests {
			limits = append(limits, l)
		}
	}
	if len(limits) == 0 {
		return
	}
	s := store.Settlement{Scope: c.sc.key, Limits: limits, Delta: store.Cost{Requests: -c.charge.cost.Charge(store.UnitRequests)}}
	if err := c.u.t.store.Settle(context.WithoutCancel(c.ctx), s); err != nil {
		c.u.t.log.LogAttrs(c.ctx, slogWarn, "heed: giving back a 304's charge failed", attr("upstream", c.u.cfg.Name), attr("error", err.Error()))
	}
}

// settler settles one charge, from any goroutine: a response body may be
// read to its end after RoundTrip returned.
type settler struct {
	ctx      context.Context
	t        *Transport
	upstream string
	pricing  pricing
	scope    string
	charge   charge
}

func (c *call) settler(ch charge) settler {
	return settler{ctx: context.WithoutCancel(c.ctx), t: c.u.t, upstream: c.u.cfg.Name, pricing: c.u.pricing, scope: c.sc.key, charge: ch}
}

// settle charges real (the real cost) minus what was charged; usage says
// real is a reported usage (for the estimate's metrics), not a refusal's
// nothing.
func (s settler) settle(real tokens, usage bool) {
	want := s.pricing.cost(real)
	delta := store.Cost{
		Tokens:       want.Tokens - s.charge.cost.Tokens,
		InputTokens:  want.InputTokens - s.charge.cost.InputTokens,
		OutputTokens: want.OutputTokens - s.charge.cost.OutputTokens,
	}
	if usage {
		s.t.metrics.TokensSettled(s.upstream, real.input, real.output, s.charge.est.input, s.charge.est.output)
	}
	if delta.IsZero() {
		return
	}
	err := s.t.store.Settle(s.ctx, store.Settlement{Scope: s.scope, Limits: s.charge.limits, Delta: delta})
	if err != nil {
		s.t.log.LogAttrs(s.ctx, slogWarn, "heed: settling a charge failed", attr("upstream", s.upstream), attr("error", err.Error()))
	}
}

// estimate prices the call's request once, before its first admission.
func (c *call) estimate() {
	if c.estimated {
		return
	}
	c.estimated = true
	c.est, c.req = c.u.pricing.estimate(c.req)
}

// ErrTooLarge is wrapped by the error of a request that costs more tokens
// than a limit lets through in a whole window: it could never be sent, so
// it fails at once instead of waiting.
var ErrTooLarge = errors.New("heed: the request costs more than a limit allows in a whole window")

// fits returns an error wrapping ErrTooLarge when req's cost exceeds what
// one of its token limits lets through at once.
func (u *upstream) fits(req store.Request) error {
	for _, l := range req.Limits {
		if l.Unit == store.UnitRequests {
			continue
		}
		if n, most := req.Cost.Of(l.Unit), l.GCRA.Burst(); n > most {
			g := u.pricing.granule[l.Unit]
			return fmt.Errorf("%w: upstream %q: %s: the request is estimated at %d, the limit lets %d through at once",
				ErrTooLarge, u.cfg.Name, l.Unit, n*g, most*g)
		}
	}
	return nil
}

// lockedMeter is a llm.Meter safe for a Close that races a Read (an
// http.Response's body allows it), which llm's meters are not.
type lockedMeter struct {
	mu sync.Mutex // guards m
	m  llm.Meter
}

func (l *lockedMeter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Write(p)
}

func (l *lockedMeter) Usage() (llm.Usage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Usage()
}
