package llm

import (
	"math"
	"strings"
)

// Estimate is what a request is expected to cost before it is sent.
type Estimate struct {
	Input int64 // input tokens (prompt, system, tools, images, ...)
	// Output is the most output tokens the request may produce: max_tokens,
	// max_completion_tokens or max_output_tokens times n (choices), or
	// EstimateOptions.DefaultOutput when the body names no maximum.
	Output int64
	Model  string // the body's model (Azure: the deployment when the body names none)
	Stream bool
	// UsageReported says whether the response is expected to report its
	// usage: false for an OpenAI stream without stream_options.include_usage
	// (the charge then stands as reserved); true otherwise.
	UsageReported bool
	// Rough says that part of the input was priced without reading it: a
	// body cut at the caller's bound, or one that does not parse.
	Rough bool
}

// EstimateOptions tunes Estimate. The zero value uses the defaults.
type EstimateOptions struct {
	// DefaultOutput is the output charge when the body names no maximum;
	// 0 means DefaultOutput (4096). Legacy Completions use the API's own
	// default of 16 instead.
	DefaultOutput int64
	// Tokenizer counts text; nil means CharEstimator. Anthropic publishes
	// no tokenizer: pass an OpenAI one (llm/tiktoken) for OpenAI upstreams
	// only.
	Tokenizer Tokenizer
}

// DefaultOutput is the output charge of a request that names no maximum:
// Anthropic requires max_tokens, so it only matters for OpenAI, whose
// models may then write up to their context's end. 4096 is the
// max_tokens default of OpenAI's older chat models and of most SDK
// examples; settling corrects it.
const DefaultOutput = 4096

// maxChoices bounds n (OpenAI documents at most 128 choices).
const maxChoices = 128

// Unread bytes (a body cut at the caller's bound) are priced at the density
// of the part read, between 1 token per 4 bytes and 0.6 per byte; a body
// that does not parse is priced at 0.6 tokens per byte of its size. The
// densest prompt in testdata/prompts (a JWT and a hash) is 0.59 o200k
// tokens per byte; prose is 0.2 to 0.3.
const (
	minUnreadDensity = 0.25
	maxUnreadDensity = 0.6
	garbageDensity   = 0.6
)

// Estimate prices a request to path (the URL path, e.g.
// "/v1/chat/completions", or Azure's "/openai/deployments/{d}/chat/completions")
// from body, the first bytes of a body of size bytes in all (len(body) <
// size when the caller stopped reading at its bound; size -1: unknown).
//
// ok is false when the path is not a priced endpoint of the vendor (GET
// /v1/models, /v1/files, /v1/messages/count_tokens ...), when the vendor is
// None, or when the body is empty (a GET of a priced path, such as listing
// stored chat completions): the request then costs only a request. A body
// that does not parse is priced from its size, never refused. Estimate
// never panics, whatever the body; it is safe for concurrent use (body is
// only read).
func (v Vendor) Estimate(path string, body []byte, size int64, o EstimateOptions) (e Estimate, ok bool) {
	ep := endpointOf(v, path)
	if ep == epNone || (len(body) == 0 && size <= 0) {
		return Estimate{}, false
	}
	p := pricer{t: o.Tokenizer, model: deploymentOf(path)}
	if p.t == nil {
		p.t = CharEstimator{}
	}
	r := p.read(ep, body)
	return p.finish(ep, r, body, size, o), true
}

type endpoint uint8

const (
	epNone endpoint = iota
	epChat
	epCompletions
	epEmbeddings
	epResponses
	epMessages
	epComplete // Anthropic's legacy Text Completions
)

func endpointOf(v Vendor, path string) endpoint {
	path = strings.TrimSuffix(path, "/")
	switch v {
	case OpenAI:
		switch {
		case strings.HasSuffix(path, "/chat/completions"):
			return epChat
		case strings.HasSuffix(path, "/completions"):
			return epCompletions
		case strings.HasSuffix(path, "/embeddings"):
			return epEmbeddings
		case strings.HasSuffix(path, "/responses"):
			return epResponses
		}
	case Anthropic:
		switch {
		case strings.HasSuffix(path, "/v1/messages"):
			return epMessages
		case strings.HasSuffix(path, "/v1/complete"):
			return epComplete
		}
	}
	return epNone
}

// deploymentOf returns d from Azure's /openai/deployments/{d}/...
func deploymentOf(path string) string {
	_, rest, ok := strings.Cut(path, "/openai/deployments/")
	if !ok {
		return ""
	}
	d, _, _ := strings.Cut(rest, "/")
	return d
}

// request is what the first pass over the body's top level finds.
type request struct {
	maxOut       int64
	hasMax       bool
	n, prompts   int64 // choices; legacy prompts in a batch
	stream       bool
	includeUsage bool
	toolChoice   string // Anthropic: auto, any, tool, none
	hasTools     bool
}

// pricer accumulates one request's estimate.
type pricer struct {
	t     Tokenizer
	model string

	text       int64 // tokens of text read
	fixed      int64 // media and per-message overheads
	mediaBytes int   // bytes of media payloads (priced by rule, not as text)
	cutInMedia bool  // the body ended inside a media payload

	sc  scanner // reused for each part of the body
	buf []byte  // scratch for decoded media prefixes
	err bool    // a syntax error somewhere
	eof bool    // the body ended early
}

// read runs the endpoint's reader over the body: first the top level (to
// learn the model, wherever it sits), then the parts that cost tokens.
func (p *pricer) read(ep endpoint, body []byte) request {
	r := request{n: 1, prompts: 1}
	s := p.start(body)
	var parts [5][]byte // raw values of the priced top-level fields, by role
	if s.object() {
		for k, ok := s.key(); ok; k, ok = s.key() {
			p.top(ep, &r, bytesString(k), s, &parts)
		}
	}
	p.stop()
	for i, raw := range parts {
		if raw != nil {
			p.part(ep, i, raw, &r)
		}
	}
	return r
}

// Indexes of parts.
const (
	partMessages  = iota // messages, input, prompt
	partSystem           // system, instructions
	partTools            // tools
	partFunctions        // functions (OpenAI's legacy field)
	partFormat           // response_format, text (Responses)
)

func (p *pricer) top(ep endpoint, r *request, key string, s *scanner, parts *[5][]byte) {
	switch key {
	case "model":
		if m, _ := s.str(); m != "" {
			p.model = strings.Clone(m)
		}
	case "max_tokens", "max_completion_tokens", "max_output_tokens", "max_tokens_to_sample":
		if n, ok := s.int(); ok {
			r.maxOut, r.hasMax = max(r.maxOut, n), true
		}
	case "n", "best_of":
		if n, ok := s.int(); ok {
			r.n = min(max(r.n, n, 1), maxChoices)
		}
	case "stream":
		r.stream = s.bool()
	case "stream_options":
		r.includeUsage = p.includeUsage(s)
	case "tool_choice":
		r.toolChoice = p.toolChoice(s)
	case "prompt":
		if ep == epResponses { // a stored prompt's id and variables
			p.textOf(s)
			return
		}
		parts[partMessages] = s.skip()
	case "messages", "input":
		parts[partMessages] = s.skip()
	case "system", "instructions":
		parts[partSystem] = s.skip()
	case "tools":
		parts[partTools] = s.skip()
	case "functions":
		parts[partFunctions] = s.skip()
	case "response_format", "text":
		parts[partFormat] = s.skip()
	default:
		s.skip()
	}
}

func (p *pricer) includeUsage(s *scanner) bool {
	var on bool
	if !s.openObject() {
		return false
	}
	for k, ok := s.key(); ok; k, ok = s.key() {
		if string(k) == "include_usage" {
			on = s.bool()
		} else {
			s.skip()
		}
	}
	return on
}

// toolChoice reads OpenAI's "auto"/"none"/"required" or {"type": ...}, and
// Anthropic's {"type": "auto"|"any"|"tool"|"none"}.
func (p *pricer) toolChoice(s *scanner) string {
	if s.isString() {
		v, _ := s.str()
		return strings.Clone(v)
	}
	if s.peek() != '{' {
		s.skip()
		return ""
	}
	var t string
	s.object()
	for k, ok := s.key(); ok; k, ok = s.key() {
		if string(k) == "type" && s.isString() {
			v, _ := s.str()
			t = strings.Clone(v)
		} else {
			s.skip()
		}
	}
	return t
}

func (p *pricer) part(ep endpoint, i int, raw []byte, r *request) {
	s := p.start(raw)
	switch ep {
	case epChat, epResponses:
		p.openAIPart(ep, i, s, r)
	case epCompletions, epEmbeddings:
		if i == partMessages {
			r.prompts = p.prompts(s)
		}
	case epMessages, epComplete:
		p.anthropicPart(i, s, r)
	}
	p.stop()
}

// start points the reused scanner at b.
func (p *pricer) start(b []byte) *scanner {
	p.sc.b, p.sc.i, p.sc.err, p.sc.eof, p.sc.depth = b, 0, false, false, 0
	return &p.sc
}

// stop folds the scanner's end state into the pricer.
func (p *pricer) stop() {
	if p.sc.err {
		p.err = true
		p.eof = p.eof || p.sc.eof
	}
}

// textOf counts a string value, or the raw JSON text of any other value.
func (p *pricer) textOf(s *scanner) {
	if s.isString() {
		t, _ := s.str()
		p.text += count(p.t, p.model, t)
		return
	}
	p.text += count(p.t, p.model, bytesString(s.skip()))
}

func (p *pricer) finish(ep endpoint, r request, body []byte, size int64, o EstimateOptions) Estimate {
	e := Estimate{Model: p.model, Stream: r.stream, Input: p.text + p.fixed}
	e.UsageReported = !r.stream || r.includeUsage || ep == epResponses || ep == epMessages || ep == epComplete
	switch {
	case p.err && !(p.eof && size > int64(len(body))):
		// Does not parse (a cut body with no more to come is garbage too).
		e.Input, e.Rough = max(e.Input, ceilF(float64(max(size, int64(len(body))))*garbageDensity)), true
	case p.eof:
		e.Input += p.unread(body, size)
		e.Rough = true
	}
	out := r.maxOut
	if !r.hasMax {
		out = o.DefaultOutput
		if out <= 0 {
			out = DefaultOutput
		}
		if ep == epCompletions {
			out = 16
		}
	}
	switch ep {
	case epEmbeddings:
		out = 0
	case epCompletions:
		out *= r.prompts
	}
	e.Output = out * r.n
	return e
}

// unread prices the bytes the caller did not read.
func (p *pricer) unread(body []byte, size int64) int64 {
	rest := size - int64(len(body))
	if rest <= 0 || p.cutInMedia {
		// Unknown size, or cut inside a media payload: the rest is taken
		// to be that payload, already charged at its documented maximum.
		return 0
	}
	density := minUnreadDensity
	if textBytes := len(body) - p.mediaBytes; textBytes > 0 {
		density = min(max(float64(p.text)/float64(textBytes), minUnreadDensity), maxUnreadDensity)
	}
	return ceilF(float64(rest) * density)
}

func ceilF(f float64) int64 { return int64(math.Ceil(f)) }

// prompts reads legacy Completions' prompt or Embeddings' input: a string,
// an array of strings, an array of token ids, or an array of token-id
// arrays. It returns how many prompts there are (each gets its own
// completion).
func (p *pricer) prompts(s *scanner) int64 {
	switch s.peek() {
	case '"':
		p.textOf(s)
		return 1
	case '[':
	default:
		p.textOf(s)
		return 1
	}
	s.array()
	var n int64
	ids := false
	for s.elem() {
		switch s.peek() {
		case '"':
			p.textOf(s)
			n++
		case '[':
			s.array()
			for s.elem() {
				s.skip()
				p.text++
			}
			n++
		default: // a token id of a single prompt
			s.skip()
			p.text++
			ids = true
		}
	}
	if ids {
		n++
	}
	return max(n, 1)
}
