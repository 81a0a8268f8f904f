package limit

import (
	"fmt"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{"ExponentialFirstFull", Backoff{Base: 250 * ms, Max: 30 * time.Second}, 1, 0.999999, 249999750 * time.Nanosecond},
		{"ExponentialThird", Backoff{Kind: Exponential, Base: 250 * ms}, 3, 0.5, 500 * ms},
		{"ExponentialJitterZero", Backoff{Base: 250 * ms}, 5, 0, 0},
		{"ExponentialCapped", Backoff{Base: 250 * ms, Max: time.Second}, 10, 0.9, time.Second},
		{"ExponentialHugeAttempt", Backoff{Base: time.Second, Max: time.Minute}, 1000, 0.5, time.Minute},
		{"ExponentialNoMaxSaturates", Backoff{Base: time.Hour}, 200, 1, maxDuration},
		{"ExponentialJitterClamped", Backoff{Base: time.Second}, 1, 7, time.Second},
		{"Constant", Backoff{Kind: Constant, Base: 100 * ms}, 7, 0.3, 100 * ms},
		{"Linear", Backoff{Kind: Linear, Base: 100 * ms}, 4, 0.3, 400 * ms},
		{"LinearCapped", Backoff{Kind: Linear, Base: 100 * ms, Max: 250 * ms}, 4, 0, 250 * ms},
		{"Fibonacci1", Backoff{Kind: Fibonacci, Base: 100 * ms}, 1, 0, 100 * ms},
		{"Fibonacci2", Backoff{Kind: Fibonacci, Base: 100 * ms}, 2, 0, 100 * ms},
		{"Fibonacci6", Backoff{Kind: Fibonacci, Base: 100 * ms}, 6, 0, 800 * ms},
		{"FibonacciHuge", Backoff{Kind: Fibonacci, Base: time.Second, Max: time.Hour}, 500, 0, time.Hour},
		{"AttemptZeroIsFirst", Backoff{Kind: Linear, Base: 100 * ms}, 0, 0, 100 * ms},
		{"ZeroBase", Backoff{Kind: Linear}, 3, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Delay(tt.attempt, tt.jitter); got != tt.want {
				t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.jitter, got, tt.want)
			}
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	t.Parallel()
	valid := []Backoff{{}, {Kind: Constant, Base: time.Second}, {Kind: Fibonacci, Max: time.Minute}}
	for _, b := range valid {
		if err := b.Validate(); err != nil {
			t.Errorf("%+v: got %v, want nil", b, err)
		}
	}
	invalid := []Backoff{{Kind: "quadratic"}, {Base: -1}, {Max: -time.Second}}
	for _, b := range invalid {
		if err := b.Validate(); err == nil {
			t.Errorf("%+v: got nil, want an error", b)
		}
	}
}

func ExampleBackoff_Delay() {
	b := Backoff{Kind: Fibonacci, Base: 100 * time.Millisecond, Max: time.Second}
	for attempt := 1; attempt <= 7; attempt++ {
		fmt.Print(b.Delay(attempt, 0), " ")
	}
	fmt.Println()
	// Output: 100ms 100ms 200ms 300ms 500ms 800ms 1s
}
