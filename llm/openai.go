package llm

import "strings"

// OpenAI's chat format, as the OpenAI cookbook's "How to count tokens with
// tiktoken" documents it: every message costs 3 tokens beside its values
// (role, content, name ...), a name 1 more, and the reply is primed with 3.
const (
	openAIPerMessage = 3
	openAIPerName    = 1
	openAIPriming    = 3
	// openAIPerToolCall is heed's allowance for the framing of each tool
	// call in an assistant message (the cookbook gives none): its name and
	// arguments are counted as text besides.
	openAIPerToolCall = 3
)

// OpenAIEncoding names the encoding OpenAI's models use: "cl100k_base" for
// gpt-4 (not gpt-4o, gpt-4.1 or gpt-4.5), gpt-3.5, text-embedding-3-*,
// text-embedding-ada-002, davinci-002 and babbage-002; "o200k_base" for
// gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series and any model not listed.
func OpenAIEncoding(model string) string {
	m := strings.ToLower(model)
	switch {
	case strings.HasPrefix(m, "gpt-4o"), strings.HasPrefix(m, "gpt-4.1"), strings.HasPrefix(m, "gpt-4.5"):
		return "o200k_base"
	case strings.HasPrefix(m, "gpt-4"), strings.HasPrefix(m, "gpt-3.5"), strings.HasPrefix(m, "gpt-35"),
		strings.HasPrefix(m, "text-embedding-3"), strings.HasPrefix(m, "text-embedding-ada-002"),
		strings.HasPrefix(m, "davinci-002"), strings.HasPrefix(m, "babbage-002"):
		return "cl100k_base"
	}
	return "o200k_base"
}

func (p *pricer) openAIPart(ep endpoint, i int, s *scanner, r *request) {
	switch i {
	case partMessages:
		p.openAIMessages(ep, s)
	case partSystem: // Responses' instructions: a system message
		p.fixed += openAIPerMessage + 1
		p.item(s, OpenAI)
	case partTools, partFunctions:
		p.openAITools(s)
	case partFormat: // response_format / text.format: the schema as text
		p.textOf(s)
	}
}

// openAIMessages reads chat messages or Responses input (a string is one
// user message).
func (p *pricer) openAIMessages(ep endpoint, s *scanner) {
	if s.peek() != '[' {
		p.fixed += openAIPerMessage + 1 + openAIPriming // role "user"
		p.item(s, OpenAI)
		return
	}
	s.array()
	for s.elem() {
		p.fixed += openAIPerMessage
		p.openAIMessage(s)
	}
	p.fixed += openAIPriming
}

// openAIMessage reads one message: its string values count as text (role,
// content, name, tool_call_id ...), name costs 1 more, and tool calls their
// framing.
func (p *pricer) openAIMessage(s *scanner) {
	if s.peek() != '{' {
		p.item(s, OpenAI)
		return
	}
	s.object()
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch key := bytesString(k); key {
		case "name":
			p.fixed += openAIPerName
			p.textOf(s)
		case "role":
			p.textOf(s)
		case "tool_calls":
			p.toolCalls(s)
		default:
			if skipKey(key) || !p.valueHasText(s) {
				s.skip()
				continue
			}
			p.item(s, OpenAI)
		}
	}
}

func (p *pricer) toolCalls(s *scanner) {
	if s.peek() != '[' {
		p.item(s, OpenAI)
		return
	}
	s.array()
	for s.elem() {
		p.fixed += openAIPerToolCall
		p.item(s, OpenAI)
	}
}

// OpenAI's function definitions, by the cookbook's rule for tools: each
// function costs 7 tokens (10 on cl100k models) plus "name:description"
// (a final period dropped); a function with properties 3 more, each
// property 3 plus "key:type:description", an enum -3 plus 3 and the text of
// each item; and the tools together 12. Schema parts the rule leaves out
// (nested properties, items, anyOf ...) are counted as their JSON text, and
// tools that are not functions (web search, code interpreter, custom) as
// their whole JSON text.
const (
	toolFuncInitO200k = 7
	toolFuncInitCL100 = 10
	toolPropInit      = 3
	toolPropKey       = 3
	toolEnumInit      = -3
	toolEnumItem      = 3
	toolFuncEnd       = 12
)

func (p *pricer) openAITools(s *scanner) {
	if s.peek() != '[' {
		p.textOf(s)
		return
	}
	funcInit := int64(toolFuncInitO200k)
	if OpenAIEncoding(p.model) == "cl100k_base" {
		funcInit = toolFuncInitCL100
	}
	seen := false
	s.array()
	for s.elem() {
		seen = true
		p.openAITool(s, funcInit)
	}
	if seen {
		p.fixed += toolFuncEnd
	}
}

// openAITool reads {"type": "function", "function": {...}} (chat) or the
// flat {"type": "function", "name", "description", "parameters"}
// (Responses, and chat's legacy functions).
func (p *pricer) openAITool(s *scanner, funcInit int64) {
	if s.peek() != '{' {
		p.textOf(s)
		return
	}
	raw := s.skip()
	sub := scanner{b: raw}
	f := toolDef{}
	sub.object()
	for k, ok := sub.key(); ok; k, ok = sub.key() {
		switch string(k) {
		case "function":
			f.nested = sub.skip()
		case "type":
			t, _ := sub.str()
			f.isFunc = t == "function"
			f.typed = true
		default:
			f.readField(p, &sub, k)
		}
	}
	if f.nested != nil {
		inner := scanner{b: f.nested}
		f.isFunc, f.typed = true, true
		inner.object()
		for k, ok := inner.key(); ok; k, ok = inner.key() {
			f.readField(p, &inner, k)
		}
	}
	if f.typed && !f.isFunc {
		p.text += count(p.t, p.model, bytesString(raw))
		return
	}
	p.fixed += funcInit
	desc := strings.TrimSuffix(bytesString(f.desc), ".")
	p.text += count(p.t, p.model, bytesString(f.name)+":"+desc)
	p.fixed += f.fixed
	p.text += f.text
}

// toolDef gathers a function definition's parts, which may come in any
// order.
type toolDef struct {
	name, desc    []byte
	nested        []byte
	isFunc, typed bool
	fixed, text   int64
}

func (f *toolDef) readField(p *pricer, s *scanner, k []byte) {
	switch string(k) {
	case "name":
		t, _ := s.str()
		f.name = append(f.name[:0], t...)
	case "description":
		t, _ := s.str()
		f.desc = append(f.desc[:0], t...)
	case "parameters":
		f.parameters(p, s)
	case "strict":
		s.skip()
	default:
		f.text += count(p.t, p.model, bytesString(s.skip()))
	}
}

func (f *toolDef) parameters(p *pricer, s *scanner) {
	if !s.openObject() {
		return
	}
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch string(k) {
		case "properties":
			f.properties(p, s)
		case "type", "required", "additionalProperties":
			s.skip()
		default:
			f.text += count(p.t, p.model, bytesString(s.skip()))
		}
	}
}

func (f *toolDef) properties(p *pricer, s *scanner) {
	if !s.openObject() {
		return
	}
	first := true
	for k, ok := s.key(); ok; k, ok = s.key() {
		if first {
			f.fixed += toolPropInit
			first = false
		}
		f.fixed += toolPropKey
		line := append([]byte(nil), k...)
		f.property(p, s, line)
	}
}

// property reads one property's schema and counts "key:type:description".
func (f *toolDef) property(p *pricer, s *scanner, key []byte) {
	if s.peek() != '{' {
		f.text += count(p.t, p.model, bytesString(s.skip()))
		return
	}
	var typ, desc []byte
	s.object()
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch string(k) {
		case "type":
			if s.isString() {
				t, _ := s.str()
				typ = append(typ, t...)
			} else {
				typ = append(typ, s.skip()...)
			}
		case "description":
			t, _ := s.str()
			desc = append(desc[:0], t...)
		case "enum":
			f.enum(p, s)
		default:
			f.text += count(p.t, p.model, bytesString(s.skip()))
		}
	}
	line := append(key, ':')
	line = append(line, typ...)
	line = append(line, ':')
	line = append(line, strings.TrimSuffix(bytesString(desc), ".")...)
	f.text += count(p.t, p.model, bytesString(line))
}

func (f *toolDef) enum(p *pricer, s *scanner) {
	if s.peek() != '[' {
		s.skip()
		return
	}
	f.fixed += toolEnumInit
	s.array()
	for s.elem() {
		f.fixed += toolEnumItem
		if s.isString() {
			t, _ := s.str()
			f.text += count(p.t, p.model, t)
		} else {
			f.text += count(p.t, p.model, bytesString(s.skip()))
		}
	}
}
