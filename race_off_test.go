//go:build !race

package heed_test

// raceDetector is set when the tests run under the race detector, whose
// shadow memory the process never gives back to the system.
const raceDetector = false
