package chaos

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// figurePrefix starts every line of figures in the test log, so that
//
//	go test -v ./chaos/ | grep 'chaos figure' | sed 's/.*chaos figure //'
//
// gives a Markdown table for bench/RESULTS.md (the header row is printed
// once per case; sort -u keeps one).
const figurePrefix = "chaos figure "

// figures are the measurements of one case, printed as rows of a
// three-column Markdown table: case, figure, value.
type figures struct {
	t    *testing.T
	name string // the case and the suite's size
	rows [][3]string
}

// newFigures returns the figures of t's case; they are printed when the
// case ends, whether it passed or not.
func newFigures(t *testing.T) *figures {
	f := &figures{t: t, name: t.Name() + " (" + suite.name + ")"}
	t.Cleanup(f.print)
	return f
}

// add records one figure of a phase ("all" for the whole case).
func (f *figures) add(phase, what, format string, args ...any) {
	name := f.name
	if phase != "all" {
		name += " " + phase
	}
	f.rows = append(f.rows, [3]string{name, what, fmt.Sprintf(format, args...)})
}

// print logs the figures, those of each phase together, the phases in
// the order of their first figure.
func (f *figures) print() {
	f.t.Logf("%s| case | figure | value |", figurePrefix)
	f.t.Logf("%s| --- | --- | --- |", figurePrefix)
	var order []string
	byName := make(map[string][][3]string)
	for _, r := range f.rows {
		if _, seen := byName[r[0]]; !seen {
			order = append(order, r[0])
		}
		byName[r[0]] = append(byName[r[0]], r)
	}
	for _, name := range order {
		for _, r := range byName[name] {
			f.t.Logf("%s| %s | %s | %s |", figurePrefix, r[0], r[1], strings.ReplaceAll(r[2], "|", `\|`))
		}
	}
}

// leakGrace is how long the goroutines of a case may take to end after
// everything it started has been stopped.
const leakGrace = 10 * time.Second

// checkGoroutines is called first in a case: its cleanup, which runs
// last, when everything the case started has stopped (Transports,
// servers, proxies, processes), fails the case unless the goroutine count
// has come back to what it was at the call within leakGrace. Cases that
// call it do not run in parallel.
func checkGoroutines(t *testing.T, f *figures) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(leakGrace)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		n := runtime.NumGoroutine()
		f.add("all", "goroutines before / after", "%d / %d", before, n)
		if n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines %v after the case, %d before:\n%s", n, leakGrace, before, buf)
		}
	})
}
