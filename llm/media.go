package llm

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
)

// Media: images, audio and documents, priced by each vendor's documented
// rule where one exists (see the package doc for the sources).

// sniffLimit bounds the base64 text decoded to learn an image's size or a
// PDF's pages: 64 KiB of base64 is 48 KiB of file, past any PNG, GIF or
// WebP header and the EXIF block of nearly every JPEG.
const sniffLimit = 64 << 10

// pdfSniffLimit bounds the base64 text decoded to count a PDF's pages.
const pdfSniffLimit = 1 << 20

// decodePrefix decodes the first limit bytes of standard or URL-safe
// base64 (padding optional, white space not allowed) into dst.
func decodePrefix(dst, b64 []byte, limit int) []byte {
	b64 = b64[:min(len(b64), limit)&^3]
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	m, err := base64.StdEncoding.Decode(dst, b64)
	if err != nil {
		m, _ = base64.URLEncoding.Decode(dst, b64)
	}
	return dst[:max(m, 0)]
}

// imageSize reads the pixel size from the first bytes of a PNG, GIF, JPEG
// or WebP file.
func imageSize(b []byte) (w, h int, ok bool) {
	switch {
	case len(b) >= 24 && string(b[:8]) == "\x89PNG\r\n\x1a\n" && string(b[12:16]) == "IHDR":
		return be32(b[16:]), be32(b[20:]), true
	case len(b) >= 10 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return int(b[6]) | int(b[7])<<8, int(b[8]) | int(b[9])<<8, true
	case len(b) >= 30 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return webpSize(b)
	case len(b) >= 4 && b[0] == 0xFF && b[1] == 0xD8:
		return jpegSize(b)
	}
	return 0, 0, false
}

func be32(b []byte) int { return int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3]) }

func webpSize(b []byte) (w, h int, ok bool) {
	switch string(b[12:16]) {
	case "VP8X":
		return 1 + int(b[24]) | int(b[25])<<8 | int(b[26])<<16, 1 + int(b[27]) | int(b[28])<<8 | int(b[29])<<16, true
	case "VP8L":
		if b[20] != 0x2f {
			return 0, 0, false
		}
		v := int(b[21]) | int(b[22])<<8 | int(b[23])<<16 | int(b[24])<<24
		return 1 + v&0x3FFF, 1 + (v>>14)&0x3FFF, true
	case "VP8 ":
		return int(b[26]) | int(b[27]&0x3F)<<8, int(b[28]) | int(b[29]&0x3F)<<8, true
	}
	return 0, 0, false
}

// jpegSize walks the JPEG's segments to its first start-of-frame marker.
func jpegSize(b []byte) (w, h int, ok bool) {
	for i := 2; i+9 < len(b); {
		if b[i] != 0xFF {
			return 0, 0, false
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			return int(b[i+7])<<8 | int(b[i+8]), int(b[i+5])<<8 | int(b[i+6]), true
		}
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			i += 2
			continue
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	return 0, 0, false
}

// dataURL splits a data: URL into its media type and base64 payload; ok is
// false for any other URL (an http(s) image is fetched by the vendor and
// its size cannot be known here).
func dataURL(u []byte) (mediaType string, b64 []byte, ok bool) {
	rest, found := bytes.CutPrefix(u, []byte("data:"))
	if !found {
		return "", nil, false
	}
	meta, data, found := bytes.Cut(rest, []byte(","))
	if !found || !bytes.HasSuffix(meta, []byte(";base64")) {
		return "", nil, false
	}
	return bytesString(meta[:len(meta)-len(";base64")]), data, true
}

// OpenAI's image rules (the "Images and vision" guide, "Calculating costs").

type openAIImageRule struct {
	base, tile int64   // tile models: base + tile × 512px tiles
	patchMult  float64 // patch models: 32px patches (at most 1536) × mult
}

// openAIImageRuleFor returns the model's rule; unknown models use GPT-4o's
// (85 + 170 per tile).
func openAIImageRuleFor(model string) openAIImageRule {
	m := strings.ToLower(model)
	switch {
	case strings.HasPrefix(m, "gpt-4.1-mini"), strings.HasPrefix(m, "gpt-5-mini"):
		return openAIImageRule{patchMult: 1.62}
	case strings.HasPrefix(m, "gpt-4.1-nano"), strings.HasPrefix(m, "gpt-5-nano"):
		return openAIImageRule{patchMult: 2.46}
	case strings.HasPrefix(m, "o4-mini"):
		return openAIImageRule{patchMult: 1.72}
	case strings.HasPrefix(m, "gpt-4o-mini"):
		return openAIImageRule{base: 2833, tile: 5667}
	case strings.HasPrefix(m, "gpt-5"):
		return openAIImageRule{base: 70, tile: 140}
	case strings.HasPrefix(m, "o1"), strings.HasPrefix(m, "o3"):
		return openAIImageRule{base: 75, tile: 150}
	case strings.HasPrefix(m, "computer-use"):
		return openAIImageRule{base: 65, tile: 129}
	}
	return openAIImageRule{base: 85, tile: 170}
}

// openAIImageMaxTiles is the most 512px tiles an image can take after
// OpenAI's scaling (fit in 2048×2048, then shortest side 768): 768×2048 is
// 2×4 tiles.
const openAIImageMaxTiles = 8

// tokens prices one image; known false means its size is unknown and the
// rule's maximum is charged (detail low still costs the base alone).
func (r openAIImageRule) tokens(detail string, w, h int, known bool) int64 {
	if r.patchMult > 0 {
		patches := int64(1536)
		if known {
			patches = min(ceilDiv(w, 32)*ceilDiv(h, 32), 1536)
		}
		return int64(math.Ceil(float64(patches) * r.patchMult))
	}
	if detail == "low" {
		return r.base
	}
	if !known {
		return r.base + r.tile*openAIImageMaxTiles
	}
	fw, fh := float64(w), float64(h)
	if s := 2048 / max(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	if s := 768 / min(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	tiles := int64(math.Ceil(fw/512)) * int64(math.Ceil(fh/512))
	return r.base + r.tile*min(tiles, openAIImageMaxTiles)
}

func ceilDiv(a, b int) int64 {
	if a <= 0 {
		return 0
	}
	return int64((a + b - 1) / b)
}

// Anthropic's image rule (the "Vision" guide): about width × height / 750
// tokens, or ⌈w/28⌉ × ⌈h/28⌉ visual tokens in its newer wording (the larger
// is charged), after scaling down to the model's native resolution: at most
// 1568 px on the long edge and about 1,600 tokens, or for Claude Opus 4.7
// and later 2576 px and 4,784 tokens.
func anthropicImageTokens(model string, w, h int, known bool) int64 {
	edge, limit := 1568.0, int64(1600)
	if anthropicLargeImages(model) {
		edge, limit = 2576, 4784
	}
	if !known {
		return limit
	}
	fw, fh := float64(w), float64(h)
	if s := edge / max(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	area := int64(math.Ceil(fw * fh / 750))
	patches := int64(math.Ceil(fw/28)) * int64(math.Ceil(fh/28))
	return min(max(area, patches), limit)
}

// anthropicLargeImages reports whether the model takes the larger native
// image resolution: Claude Opus 4.7 and any model it cannot place in an
// older generation (so that an unknown, newer model errs high).
func anthropicLargeImages(model string) bool {
	major, minor, ok := claudeVersion(model)
	return !ok || major > 4 || (major == 4 && minor >= 7)
}

// claudeVersion reads the generation from "claude-3-5-sonnet-20241022",
// "claude-sonnet-4-5", "claude-opus-4-20250514" and the like.
func claudeVersion(model string) (major, minor int, ok bool) {
	rest, found := strings.CutPrefix(strings.ToLower(model), "claude-")
	if !found {
		return 0, 0, false
	}
	parts := strings.Split(rest, "-")
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n >= 100 {
			continue
		}
		if i+1 < len(parts) {
			if m, err := strconv.Atoi(parts[i+1]); err == nil && m < 100 {
				return n, m, true
			}
		}
		return n, 0, true
	}
	return 0, 0, false
}

// Audio: OpenAI documents audio input as 1 token per 100 ms (the Realtime
// guide's "Managing costs"); the duration of base64 audio is estimated from
// its size at a low bit rate so that it errs high: 16,000 bytes per second
// for wav/pcm (16 kHz 8-bit or 8 kHz 16-bit), 4,000 (32 kbit/s) for mp3 and
// anything else.
func audioTokens(format string, b64Len int) int64 {
	perSec := 4000.0
	if format == "wav" || format == "pcm16" || format == "pcm" {
		perSec = 16000
	}
	bytes := float64(b64Len) * 3 / 4
	return int64(math.Ceil(bytes / perSec * 10))
}

// PDF documents: Anthropic's "PDF support" guide prices each page as its
// text (1,500 to 3,000 tokens a page; 3,000 is charged) plus an image of
// the page; OpenAI documents the same shape (text plus an image per page)
// without figures, so the same text figure and its own image maximum are
// used. Pages are counted from "/Type /Page" objects in the decoded prefix
// (extrapolated to the whole file); a PDF whose pages cannot be counted
// (compressed object streams, a URL or a file id) is charged
// unknownPDFPages.
const (
	pdfTextPerPage  = 3000
	unknownPDFPages = 10
)

func (p *pricer) pdfPages(b64 []byte) int64 {
	if len(b64) == 0 {
		return unknownPDFPages
	}
	p.buf = decodePrefix(p.buf, b64, pdfSniffLimit)
	pages := int64(bytes.Count(p.buf, []byte("/Type /Page")) + bytes.Count(p.buf, []byte("/Type/Page")) -
		bytes.Count(p.buf, []byte("/Type /Pages")) - bytes.Count(p.buf, []byte("/Type/Pages")))
	if pages <= 0 {
		return unknownPDFPages
	}
	if len(b64) > pdfSniffLimit {
		pages = int64(math.Ceil(float64(pages) * float64(len(b64)) / pdfSniffLimit))
	}
	return pages
}
