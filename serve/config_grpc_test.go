package serve_test

import (
	"strings"
	"testing"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/serve"
)

// TestConfigRefusesGRPCUpstreams: heed serve's proxy speaks HTTP; an
// upstream with a grpc:// base URL is for package heedgrpc, and serve
// says so instead of answering every request 502.
func TestConfigRefusesGRPCUpstreams(t *testing.T) {
	cfg := serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "translate", BaseURL: "grpc://translate.googleapis.com:443/google.cloud.translation.v3.TranslationService/"},
	}}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "upstreams[0]") || !strings.Contains(err.Error(), "heedgrpc") {
		t.Fatalf("Validate: %v, want an error naming upstreams[0] and heedgrpc", err)
	}
}
