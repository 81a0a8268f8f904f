package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 500 * time.Millisecond

// progress shows one live line per client while the demo runs, redrawn in
// place, when its writer is a terminal; on anything else it shows nothing.
type progress struct {
	w  io.Writer
	on bool
}

// newProgress returns the progress shown on w.
func newProgress(w io.Writer) progress {
	return progress{w: w, on: isTerminal(w)}
}

// isTerminal reports whether w is an *os.File open on a terminal (a
// character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// track starts showing the named client's progress, which began at start,
// from the mock's stats, and returns the function that stops it and writes
// the client's final line from the final counters and wall time.
func (p progress) track(name string, start time.Time, stats func() mockapi.Stats) func(mockapi.Counts, time.Duration) {
	if !p.on {
		return func(mockapi.Counts, time.Duration) {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		p.redraw(name, start, stats, done)
	}()
	return func(c mockapi.Counts, wall time.Duration) {
		close(done)
		<-stopped
		fmt.Fprintf(p.w, "\r%s\n", progressLine(name, c, wall))
	}
}

// finish ends the progress: a blank line parts it from what follows.
func (p progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}

// redraw draws the progress line at once and every progressEvery until
// done is closed.
func (p progress) redraw(name string, start time.Time, stats func() mockapi.Stats, done <-chan struct{}) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		fmt.Fprintf(p.w, "\r%s", progressLine(name, stats().Total, time.Since(start)))
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// progressLine describes a client's progress: the mock's counters after
// elapsed. It ends by erasing the rest of the terminal's line.
func progressLine(name string, c mockapi.Counts, elapsed time.Duration) string {
	return fmt.Sprintf("%-13s %5.1fs  sent %7d  refused %7d  in cooldown %7d  ok %5d\x1b[K",
		name, seconds(elapsed), c.Requests, c.Limited, c.DuringWait, c.Accepted)
}
