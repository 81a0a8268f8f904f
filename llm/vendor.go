package llm

import (
	"fmt"
	"strings"
)

// Vendor says how an upstream's requests are priced in tokens. The zero
// value is None.
type Vendor uint8

const (
	None      Vendor = iota // not priced: requests only
	OpenAI                  // OpenAI's API, and Azure OpenAI's
	Anthropic               // Anthropic's Messages API
)

var vendorNames = [...]string{None: "none", OpenAI: "openai", Anthropic: "anthropic"}

// ParseVendor reads a vendor's configuration name: "none", "openai" or
// "anthropic" (exactly, lowercase).
func ParseVendor(s string) (Vendor, error) {
	for v, name := range vendorNames {
		if s == name {
			return Vendor(v), nil
		}
	}
	return None, fmt.Errorf("llm: unknown cost %q: want one of none, openai, anthropic", s)
}

// String returns the vendor's configuration name, or "Vendor(n)" for a
// value out of range.
func (v Vendor) String() string {
	if int(v) < len(vendorNames) {
		return vendorNames[v]
	}
	return fmt.Sprintf("Vendor(%d)", uint8(v))
}

// VendorOfHost returns the vendor whose API a host serves, from the host
// name alone (case-insensitive, a port and a trailing dot ignored):
// api.openai.com and Azure OpenAI's resource hosts (*.openai.azure.com,
// *.cognitiveservices.azure.com, *.services.ai.azure.com, whose /openai/
// paths Microsoft documents as the Azure OpenAI API) are OpenAI;
// api.anthropic.com is Anthropic; any other host is None.
//
// Azure AI Foundry's services.ai.azure.com also serves other vendors'
// models under /models/; those paths are not priced (Estimate returns
// ok false), so the host's default does no harm.
func VendorOfHost(host string) Vendor {
	host = strings.ToLower(strings.TrimSuffix(stripPort(host), "."))
	switch {
	case host == "api.openai.com":
		return OpenAI
	case host == "api.anthropic.com":
		return Anthropic
	}
	for _, suffix := range []string{".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"} {
		if len(host) > len(suffix) && strings.HasSuffix(host, suffix) {
			return OpenAI
		}
	}
	return None
}

// stripPort drops a ":port" from host (and the brackets of an IPv6
// literal), without importing net: this package does no I/O.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[1:end]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host, ':') == i {
		return host[:i]
	}
	return host
}
