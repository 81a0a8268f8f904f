package llm

import (
	"strings"
	"testing"
)

func TestParseVendor(t *testing.T) {
	t.Parallel()
	for _, v := range []Vendor{None, OpenAI, Anthropic} {
		got, err := ParseVendor(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVendor(%q) = %v, %v; want %v", v.String(), got, err, v)
		}
	}
	_, err := ParseVendor("gemini")
	if err == nil || !strings.Contains(err.Error(), `"gemini"`) || !strings.Contains(err.Error(), "none, openai, anthropic") {
		t.Errorf("ParseVendor(gemini) error = %v, want one naming the value and the choices", err)
	}
	if got := Vendor(9).String(); got != "Vendor(9)" {
		t.Errorf("Vendor(9).String() = %q", got)
	}
}

func TestVendorOfHost(t *testing.T) {
	t.Parallel()
	cases := map[string]Vendor{
		"api.openai.com":                    OpenAI,
		"API.OpenAI.com:443":                OpenAI,
		"api.openai.com.":                   OpenAI,
		"myres.openai.azure.com":            OpenAI,
		"myres.cognitiveservices.azure.com": OpenAI,
		"myres.services.ai.azure.com:8443":  OpenAI,
		"api.anthropic.com":                 Anthropic,
		"api.anthropic.com:443":             Anthropic,
		"openai.azure.com":                  None, // no resource name
		"evil-api.openai.com.example.net":   None,
		"api.github.com":                    None,
		"":                                  None,
		"[::1]:8080":                        None,
	}
	for host, want := range cases {
		if got := VendorOfHost(host); got != want {
			t.Errorf("VendorOfHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCharged(t *testing.T) {
	t.Parallel()
	u := Usage{Input: 100, Output: 50, CacheRead: 1000, CacheWrite: 200}
	cases := []struct {
		v       Vendor
		model   string
		in, out int64
	}{
		{Anthropic, "claude-sonnet-4-5", 300, 50},          // cache reads free for current models
		{Anthropic, "claude-3-5-haiku-20241022", 1300, 50}, // marked models count them
		{Anthropic, "claude-3-haiku-20240307", 1300, 50},
		{OpenAI, "gpt-4o", 100, 50}, // prompt_tokens already include cached ones
		{None, "", 100, 50},
	}
	for _, c := range cases {
		in, out := c.v.Charged(u, c.model)
		if in != c.in || out != c.out {
			t.Errorf("%v.Charged(%+v, %q) = %d, %d; want %d, %d", c.v, u, c.model, in, out, c.in, c.out)
		}
	}
	if in, out := Anthropic.Charged(Usage{Input: -5, Output: -1, CacheWrite: -3}, "claude-opus-4-7"); in != 0 || out != 0 {
		t.Errorf("negative usage charged %d, %d; want 0, 0", in, out)
	}
}
