//go:build !chaos

package chaos

import "time"

// suite is the short form, which go test ./... and ./scripts/test run.
var suite = size{
	name:       "short",
	transports: 2, serves: 2, workers: 4, limit: 50, cycles: 1, wait: 3 * time.Second,
	goodFor: 700 * time.Millisecond, faultFor: 1500 * time.Millisecond,
	jobs: 120, jobBatch: 40, killAfter: 40, jobLimit: 40,
}
