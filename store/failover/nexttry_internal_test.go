package failover

import (
	"testing"
	"time"

	"github.com/heedhq/heed/store/memory"
)

// TestNextTry: while the shared store is away, the loop wakes when it is
// due to be tried again, so that the fallback's cooldowns are written back
// within RetryEvery of the failure; otherwise it wakes every RetryEvery or
// HeartbeatEvery, whichever is shorter.
func TestNextTry(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s := &Store{opts: Options{RetryEvery: time.Second, HeartbeatEvery: 5 * time.Second}, local: memory.New(memory.Options{})}
	for _, tc := range []struct {
		name  string
		until time.Time // zero: sharing
		want  time.Duration
	}{
		{"sharing", time.Time{}, time.Second},
		{"due in 100ms", now.Add(100 * time.Millisecond), 100 * time.Millisecond},
		{"due now", now, time.Millisecond},
		{"overdue", now.Add(-time.Second), time.Millisecond},
		{"due beyond RetryEvery (a clock step)", now.Add(time.Hour), time.Second},
	} {
		s.downUntil.Store(0)
		if !tc.until.IsZero() {
			s.downUntil.Store(tc.until.UnixMicro())
		}
		if got := s.nextTry(now); got != tc.want {
			t.Errorf("%s: nextTry = %v, want %v", tc.name, got, tc.want)
		}
	}
}
