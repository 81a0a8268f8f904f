package chaos

import (
	"testing"
	"time"
)

// size is how many and how long: the suite runs short by default (go
// test ./..., ./scripts/test) and full with -tags chaos (sizes in
// size_short_test.go and size_full_test.go). The cases are the same.
type size struct {
	name string

	// The fleet of the Redis cases: in-process Transports and heed serve
	// processes, workers each, sharing limit requests a second; cycles of
	// kill and restart; wait is every told wait (Retry-After).
	transports, serves, workers int
	limit                       int64
	cycles                      int
	wait                        time.Duration

	// The upstream fault cases: good service for goodFor on each side of
	// a fault lasting faultFor.
	goodFor, faultFor time.Duration

	// The crash cases: jobs submitted (in batches of jobBatch) to heed
	// serve, paced at jobLimit requests a second; it is killed once
	// killAfter of them have reached the API.
	jobs, jobBatch, killAfter int
	jobLimit                  int64
}

// skipShort skips a case under go test -short: the suite takes a minute
// or more even in its short form.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skipf("the chaos suite runs for a minute or more (%s form); run it without -short", suite.name)
	}
}
