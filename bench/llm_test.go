package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// llmBody is a Messages request of about 2 KB.
var llmBody = []byte(`{"model":"claude-sonnet-4-5","max_tokens":512,"messages":[{"role":"user","content":"` +
	string(bytes.Repeat([]byte("Summarise the quarterly report: revenue up, costs flat, two open risks. "), 27)) + `"}]}`)

// BenchmarkLLMRoundTrips sends priced requests (a request limit and
// input and output token limits, none binding) through a Transport on a
// private redis-server to heed mock's Anthropic endpoint over loopback,
// and reports the store round trips each request costs, its settlement
// included (roundtrips/op), from store/redis's own count. With one caller
// at a time a settlement rides on the next admission; with several,
// admissions share round trips too.
func BenchmarkLLMRoundTrips(b *testing.B) {
	for _, callers := range []int{1, 8} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			m, err := mockapi.New(mockapi.Config{LLM: mockapi.LLM{Vendor: mockapi.VendorAnthropic, OutputShare: 0.1}})
			if err != nil {
				b.Fatal(err)
			}
			api := httptest.NewServer(m)
			b.Cleanup(api.Close)
			tr, err := heed.New(heed.Config{Store: "redis://" + testenv.RedisServer(b).Addr() + "/0", Stores: config.Stores{},
				FingerprintSecret: "a bench secret of 16+ bytes",
				Upstreams: []heed.Upstream{{Name: "anthropic", BaseURL: api.URL, Cost: "anthropic", Vendor: "anthropic",
					Limits: []heed.Limit{{Requests: 1_000_000, Per: time.Minute}, {InputTokens: 1_000_000_000, Per: time.Minute},
						{OutputTokens: 1_000_000_000, Per: time.Minute}}}}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tr.Close() })
			send := func() {
				req, _ := http.NewRequest(http.MethodPost, api.URL+"/v1/messages", bytes.NewReader(llmBody))
				req.Header.Set("X-Api-Key", "sk-ant-bench")
				req.Header.Set("Content-Type", "application/json")
				resp, err := tr.RoundTrip(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			send() // the scripts are loaded, the connections open
			time.Sleep(10 * time.Millisecond)
			before := *tr.Snapshot(context.Background()).StoreTraffic
			b.SetParallelism(callers) // callers × GOMAXPROCS goroutines; GOMAXPROCS is 1 when run with -cpu 1
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					send()
				}
			})
			b.StopTimer()
			time.Sleep(10 * time.Millisecond) // the last settlement goes alone
			after := *tr.Snapshot(context.Background()).StoreTraffic
			b.ReportMetric(float64(after.RoundTrips-before.RoundTrips)/float64(b.N), "roundtrips/op")
			b.ReportMetric(float64(after.Settles-before.Settles)/float64(b.N), "settles/op")
		})
	}
}
