// Package clock holds the one piece of time handling that heed's packages
// share: a sleep that a context can cut short.
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done, when it returns ctx's error. A d of
// zero or less returns at once, with ctx's error if it is already done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
