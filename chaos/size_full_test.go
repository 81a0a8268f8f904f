//go:build chaos

package chaos

import "time"

// suite is the full form: go test -tags chaos ./chaos/...
var suite = size{
	name:       "full",
	transports: 4, serves: 3, workers: 8, limit: 100, cycles: 3, wait: 4 * time.Second,
	goodFor: 2 * time.Second, faultFor: 5 * time.Second,
	jobs: 600, jobBatch: 100, killAfter: 200, jobLimit: 60,
}
