//go:build !race

package chaos

// raceDetector is set when the suite runs under the race detector; the
// heed binary it starts is then built with it too.
const raceDetector = false
