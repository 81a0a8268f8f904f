package llm

// The content walker: messages, Responses items and content blocks of both
// vendors share one shape (objects whose string fields are text, whose
// "content" nests more of the same, and whose media fields are priced by
// rule), so one walker reads them all.

// media is what a content block says about an image, audio clip or file.
type media struct {
	kind    string // "image", "audio", "pdf", "" (none)
	data    []byte // base64 payload (or a data: URL), aliasing the body
	detail  string // OpenAI: "low", "high", "auto"
	format  string // audio format; a document's media type
	cut     bool   // the payload ended with the body
	present bool   // a media field was seen (a URL or a file id counts)
	textSrc bool   // an Anthropic document whose source is plain text
	fromURL bool   // data is a data: URL (OpenAI) rather than bare base64
}

// skipKeys are fields that carry no tokens the model reads: identifiers,
// signatures, cache and citation switches.
func skipKey(k string) bool {
	switch k {
	case "type", "id", "call_id", "tool_use_id", "signature", "encrypted_content", "status",
		"cache_control", "citations", "file_id", "filename", "media_type", "is_error", "detail", "format":
		return true
	}
	return false
}

// item reads one message, item or content block (any JSON value: a bare
// string is text).
func (p *pricer) item(s *scanner, v Vendor) {
	switch s.peek() {
	case '"':
		p.textOf(s)
		return
	case '[':
		s.array()
		for s.elem() {
			p.item(s, v)
		}
		return
	case '{':
	default:
		s.skip()
		return
	}
	var m media
	var typ string
	s.object()
	for k, ok := s.key(); ok; k, ok = s.key() {
		key := bytesString(k)
		switch key {
		case "type":
			if s.isString() {
				t, _ := s.str()
				typ = blockType(t)
			} else {
				s.skip()
			}
		case "image_url": // OpenAI: {"url", "detail"} in chat, a string in Responses
			m.kind, m.present, m.fromURL = "image", true, true
			p.urlField(s, &m)
		case "input_audio": // OpenAI chat: {"data", "format"}
			m.kind, m.present = "audio", true
			p.mediaObject(s, &m)
		case "file": // OpenAI chat: {"file_data", "file_id", "filename"}
			m.kind, m.present = "pdf", true
			p.mediaObject(s, &m)
		case "file_data", "file_url": // OpenAI Responses input_file
			m.kind, m.present, m.fromURL = "pdf", true, true
			p.payload(s, &m)
		case "source": // Anthropic image and document
			m.present = true
			p.source(s, &m, v)
		case "detail":
			m.detail = p.clonedString(s)
		case "input": // Anthropic tool_use input: the JSON itself is text
			if s.peek() == '{' {
				p.text += count(p.t, p.model, bytesString(s.skip()))
			} else {
				p.item(s, v)
			}
		default:
			if skipKey(key) || !p.valueHasText(s) {
				s.skip()
				continue
			}
			p.item(s, v)
		}
	}
	p.chargeMedia(&m, typ, v)
}

// valueHasText reports whether the next value may hold text (a string, an
// array or an object), so that numbers, booleans and nulls cost nothing.
func (p *pricer) valueHasText(s *scanner) bool {
	c := s.peek()
	return c == '"' || c == '[' || c == '{'
}

// blockType keeps the block types whose media the walker prices.
func blockType(t string) string {
	switch t {
	case "image", "input_image", "image_url":
		return "image"
	case "document", "input_file", "file":
		return "document"
	case "input_audio":
		return "audio"
	}
	return ""
}

func (p *pricer) clonedString(s *scanner) string {
	if !s.isString() {
		s.skip()
		return ""
	}
	t, _ := s.str()
	switch t { // the values that matter, without allocating
	case "low":
		return "low"
	case "high":
		return "high"
	case "wav":
		return "wav"
	case "pdf", "application/pdf":
		return "pdf"
	}
	return ""
}

// urlField reads OpenAI's image_url: a string or {"url", "detail"}.
func (p *pricer) urlField(s *scanner, m *media) {
	if s.isString() {
		p.payload(s, m)
		return
	}
	if !s.openObject() {
		return
	}
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch string(k) {
		case "url":
			p.payload(s, m)
		case "detail":
			m.detail = p.clonedString(s)
		default:
			s.skip()
		}
	}
}

// mediaObject reads {"data"|"file_data": ..., "format": ...}.
func (p *pricer) mediaObject(s *scanner, m *media) {
	if !s.openObject() {
		return
	}
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch string(k) {
		case "data":
			p.payload(s, m)
		case "file_data":
			m.fromURL = true
			p.payload(s, m)
		case "format":
			m.format = p.clonedString(s)
		default:
			s.skip()
		}
	}
}

// source reads Anthropic's {"type": "base64"|"url"|"file"|"text"|"content",
// "media_type", "data", "content"}.
func (p *pricer) source(s *scanner, m *media, v Vendor) {
	if !s.openObject() {
		return
	}
	for k, ok := s.key(); ok; k, ok = s.key() {
		switch string(k) {
		case "type":
			if s.isString() {
				t, _ := s.str()
				m.textSrc = m.textSrc || t == "text"
			} else {
				s.skip()
			}
		case "media_type":
			if s.isString() {
				t, _ := s.str()
				if t == "text/plain" {
					m.textSrc = true
				} else if t == "application/pdf" {
					m.format = "pdf"
				}
			} else {
				s.skip()
			}
		case "data":
			if m.textSrc {
				p.textOf(s)
			} else {
				p.payload(s, m)
			}
		case "content":
			m.textSrc = true
			p.item(s, v)
		default:
			s.skip()
		}
	}
}

// payload reads a base64 string (or a data: URL) and remembers it; its
// bytes are priced by rule, not as text.
func (p *pricer) payload(s *scanner, m *media) {
	raw, _, ok := s.rawString()
	m.data = raw
	m.cut = !ok && s.eof
	p.mediaBytes += len(raw)
	if m.cut {
		p.cutInMedia = true
	}
}

// chargeMedia prices the block's media by its vendor's rule.
func (p *pricer) chargeMedia(m *media, typ string, v Vendor) {
	if !m.present && typ == "" {
		return
	}
	if m.textSrc && m.data == nil {
		return // an Anthropic text document: counted as text already
	}
	kind := m.kind
	if kind == "" {
		switch typ {
		case "image":
			kind = "image"
		case "document":
			kind = "pdf"
		case "audio":
			kind = "audio"
		default:
			kind = "image"
		}
		if v == Anthropic && typ == "document" && m.format != "pdf" && m.data == nil {
			kind = "pdf"
		}
	}
	data := m.data
	if m.fromURL {
		if _, b64, ok := dataURL(data); ok {
			data = b64
		} else if kind == "pdf" && len(data) > 0 && !hasPrefix(data, "http") {
			// Responses' file_data and chat's file.file_data may be bare base64.
		} else {
			data = nil // a URL: the vendor fetches it; its size is unknown
		}
	}
	switch kind {
	case "image":
		p.fixed += p.imageTokens(v, m.detail, data)
	case "audio":
		p.fixed += audioTokens(m.format, len(data))
	case "pdf":
		pages := p.pdfPages(data)
		perPage := int64(pdfTextPerPage)
		if v == Anthropic {
			perPage += anthropicImageTokens(p.model, 0, 0, false)
		} else {
			perPage += openAIImageRuleFor(p.model).tokens("high", 0, 0, false)
		}
		p.fixed += pages * perPage
	}
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

func (p *pricer) imageTokens(v Vendor, detail string, b64 []byte) int64 {
	var w, h int
	known := false
	if len(b64) > 0 {
		p.buf = decodePrefix(p.buf, b64, sniffLimit)
		w, h, known = imageSize(p.buf)
		known = known && w > 0 && h > 0 && w <= 1<<16 && h <= 1<<16
	}
	if v == Anthropic {
		return anthropicImageTokens(p.model, w, h, known)
	}
	return openAIImageRuleFor(p.model).tokens(detail, w, h, known)
}
