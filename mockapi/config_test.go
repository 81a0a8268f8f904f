package mockapi

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	rate := func(alg string) Limit { return Limit{Algorithm: alg, Requests: 10, Per: time.Second} }
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // a part of the error, "" for none
	}{
		{"ZeroValue", Config{}, ""},
		{"Fixed", Config{Limit: rate(AlgorithmFixed)}, ""},
		{"Sliding", Config{Limit: rate(AlgorithmSliding), Dialect: DialectGitHub}, ""},
		{"TokenWithBurst", Config{Limit: Limit{Algorithm: AlgorithmToken, Requests: 1, Per: time.Second, Burst: 5}}, ""},
		{"Concurrency", Config{Limit: Limit{Algorithm: AlgorithmConcurrency, Concurrency: 2}}, ""},
		{"EveryDialect", Config{Dialect: DialectRetryAfter, ErrorRate: 1, Latency: time.Second}, ""},
		{"UnknownAlgorithm", Config{Limit: Limit{Algorithm: "leaky"}}, `Limit.Algorithm "leaky"`},
		{"NoRequests", Config{Limit: Limit{Algorithm: AlgorithmFixed, Per: time.Second}}, "Limit.Requests 0 must be > 0"},
		{"NegativeRequests", Config{Limit: Limit{Algorithm: AlgorithmToken, Requests: -1, Per: time.Second}}, "Limit.Requests -1"},
		{"NoPer", Config{Limit: Limit{Algorithm: AlgorithmSliding, Requests: 5}}, "Limit.Per 0s must be > 0"},
		{"NegativeBurst", Config{Limit: Limit{Algorithm: AlgorithmToken, Requests: 5, Per: time.Second, Burst: -1}}, "Limit.Burst -1"},
		{"HugeBurst", Config{Limit: Limit{Algorithm: AlgorithmToken, Requests: 5, Per: time.Hour, Burst: math.MaxInt32 * 8}}, "too large"},
		{"BurstOnFixed", Config{Limit: Limit{Algorithm: AlgorithmFixed, Requests: 5, Per: time.Second, Burst: 2}}, "Limit.Burst is set but the fixed algorithm"},
		{"ConcurrencyOnSliding", Config{Limit: Limit{Algorithm: AlgorithmSliding, Requests: 5, Per: time.Second, Concurrency: 2}}, "Limit.Concurrency is set"},
		{"NoConcurrency", Config{Limit: Limit{Algorithm: AlgorithmConcurrency}}, "Limit.Concurrency 0 must be > 0"},
		{"RequestsOnConcurrency", Config{Limit: Limit{Algorithm: AlgorithmConcurrency, Concurrency: 1, Requests: 5}}, "Limit.Requests is set but the concurrency algorithm"},
		{"RequestsWithoutAlgorithm", Config{Limit: Limit{Requests: 5}}, "Limit.Requests is set but Limit.Algorithm is empty"},
		{"UnknownDialect", Config{Dialect: "GitHub"}, `Dialect "GitHub"`},
		{"ErrorRateAboveOne", Config{ErrorRate: 1.5}, "ErrorRate 1.5"},
		{"ErrorRateNegative", Config{ErrorRate: -0.1}, "ErrorRate -0.1"},
		{"ErrorRateNaN", Config{ErrorRate: math.NaN()}, "ErrorRate NaN"},
		{"NegativeLatency", Config{Latency: -time.Second}, "Latency -1s"},
		{"NegativeJitter", Config{LatencyJitter: -time.Second}, "LatencyJitter -1s"},
		{"NegativeLogSize", Config{LogSize: -1}, "LogSize -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr != "" && s != nil:
				t.Errorf("got a Server with an error, want nil")
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Config{}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dialect != DialectIETF || cfg.LogSize != DefaultLogSize || cfg.Now == nil || cfg.Sleep == nil {
		t.Errorf("got dialect %q, log size %d, Now set %v, Sleep set %v; want ietf, %d, true, true",
			cfg.Dialect, cfg.LogSize, cfg.Now != nil, cfg.Sleep != nil, DefaultLogSize)
	}
}

// With no limit every request is accepted and no quota header is sent.
func TestNoLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{}, newFakeClock(t0))
	for range 100 {
		resp := get(s, "/x", "k")
		checkHeaders(t, "unlimited", resp, 200, map[string]string{})
	}
}
