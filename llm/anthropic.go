package llm

// Anthropic's Messages API. Anthropic documents no message framing; heed
// charges anthropicPerMessage tokens for each message and anthropicBase
// for the request, chosen so that the estimates of the examples in
// Anthropic's "Token counting" guide are at or above the counts it shows
// (see TestAnthropicDocExamples).
const (
	anthropicPerMessage = 4
	anthropicBase       = 3
)

// anthropicToolPrompt is the tool-use system prompt Anthropic adds when a
// request has tools, by model and tool_choice (the "Tool use" guide's
// pricing table): auto or none, and any or tool.
func anthropicToolPrompt(model, choice string) int64 {
	auto, forced := int64(346), int64(313) // Claude 3.7 Sonnet, Claude 4 and later
	major, minor, ok := claudeVersion(model)
	family := claudeFamily(model)
	switch {
	case !ok:
		auto, forced = 530, 530 // unknown: the largest figure in the table
	case major == 3 && minor == 0 && family == "opus":
		auto, forced = 530, 281
	case major == 3 && minor == 0 && family == "sonnet":
		auto, forced = 159, 235
	case major == 3 && family == "haiku": // Claude 3 Haiku and 3.5 Haiku
		auto, forced = 264, 340
	case major == 3 && minor == 5 && family == "sonnet":
		auto, forced = 346, 313 // the October 2024 figures; June's (294/261) are lower
	}
	if choice == "any" || choice == "tool" {
		return forced
	}
	return auto
}

func claudeFamily(model string) string {
	for _, f := range []string{"opus", "sonnet", "haiku"} {
		if containsFold(model, f) {
			return f
		}
	}
	return ""
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		match := true
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func (p *pricer) anthropicPart(i int, s *scanner, r *request) {
	switch i {
	case partMessages:
		p.fixed += anthropicBase
		if s.peek() != '[' { // legacy Text Completions' prompt
			p.item(s, Anthropic)
			return
		}
		s.array()
		for s.elem() {
			p.fixed += anthropicPerMessage
			p.item(s, Anthropic)
		}
	case partSystem:
		p.item(s, Anthropic)
	case partTools:
		// Each tool's definition counts as its JSON text (name,
		// description, input_schema; server tools alike), and the request
		// the tool-use system prompt once.
		if s.peek() != '[' {
			p.textOf(s)
			return
		}
		s.array()
		seen := false
		for s.elem() {
			seen = true
			p.text += count(p.t, p.model, bytesString(s.skip()))
		}
		if seen {
			p.fixed += anthropicToolPrompt(p.model, r.toolChoice)
		}
	}
}
