package heed

import (
	"context"
	"time"

	"github.com/heedhq/heed/internal/clock"
)

// Clock is the time source of a Transport: when requests arrive and how
// waits pass. Tests give a fake one (or run in a testing/synctest bubble);
// the zero Config uses the real clock.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx is done, when it returns ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return clock.Sleep(ctx, d) }
