// Package dashboardtest drives web pages, such as heed serve's dashboard, in
// a real headless Chromium for tests: it loads a page, fails the test on any
// console error or uncaught exception, waits for texts to appear, reads
// elements and saves screenshots.
//
// Each [Page] runs a private Chromium (the binary [testenv.Chromium] finds)
// with a fresh profile in a temporary directory, at a 1280x800 viewport, and
// stops it when the test ends. A missing chromium skips the test, or fails it
// under HEED_REQUIRE_SERVICES=1 (./scripts/test).
package dashboardtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/heedhq/heed/internal/clock"
	"github.com/heedhq/heed/internal/testenv"
)

const (
	// Width and Height are the size of the viewport, in CSS pixels, and of
	// screenshots.
	Width, Height = 1280, 800
	// DefaultTimeout is a new Page's Timeout.
	DefaultTimeout = 15 * time.Second
)

// Page is a page loaded in a private headless Chromium. Its methods report
// failures on the test that opened it and must be called from that test's
// goroutine; they are not safe for concurrent use.
type Page struct {
	// Timeout bounds how long the page may take to show what WaitText waits
	// for, and each other step: loading, reading, screenshots. Open sets it
	// to DefaultTimeout.
	Timeout time.Duration

	t   testing.TB
	ctx context.Context // the tab, for chromedp.Run

	mu       sync.Mutex // guards problems
	problems []string   // console errors and uncaught exceptions, in order
	reported int        // how many of problems were already reported; test goroutine only
}

// CheckPage opens pageURL in a private headless Chromium, waits until the
// page's text contains every one of wantTexts, saves a screenshot of the
// viewport as a PNG at screenshot (see [ScreenshotPath]) and checks that the
// page logged no console error and threw no uncaught exception. It returns
// the page for further checks; the test fails if the page logs an error
// before it ends, too.
func CheckPage(t testing.TB, pageURL, screenshot string, wantTexts ...string) *Page {
	t.Helper()
	p := Open(t, pageURL)
	p.WaitText(wantTexts...)
	p.Screenshot(screenshot)
	p.CheckErrors()
	return p
}

// ScreenshotPath returns where the test should save a screenshot: a PNG file
// in [testenv.ArtifactDir] (HEED_ARTIFACTS, else the test's temporary
// directory) named after the test and label, such as
// "TestPage_Empty-stale.png"; an empty label leaves it out.
func ScreenshotPath(t testing.TB, label string) string {
	t.Helper()
	name := fileName(t.Name())
	if label != "" {
		name += "-" + fileName(label)
	}
	return filepath.Join(testenv.ArtifactDir(t), name+".png")
}

// unsafeName matches what may not appear in a file name made from a test
// name.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName turns a test name such as "TestPage/Empty" into "TestPage_Empty".
func fileName(testName string) string {
	return unsafeName.ReplaceAllString(testName, "_")
}

// Open starts a private headless Chromium, loads pageURL and returns the
// page once its load event fired. Cleanups registered on t stop the browser
// and then fail the test for any console error or uncaught exception the
// page had not reported yet.
func Open(t testing.TB, pageURL string) *Page {
	t.Helper()
	bin := testenv.Chromium(t)
	p := &Page{Timeout: DefaultTimeout, t: t}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		// The sandbox needs user namespaces, which containers and root
		// often lack; these tests load only their own pages.
		chromedp.NoSandbox,
		chromedp.WindowSize(Width, Height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(p.listen))
	p.ctx = ctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // stops the browser it started and removes its profile
		p.CheckErrors()
	})
	// The first run starts the browser and binds it to ctx, so it gets no
	// timeout of its own (see chromedp.Run).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(Width, Height)); err != nil {
		t.Fatalf("dashboardtest: start %s: %v", bin, err)
	}
	if err := p.run(chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("dashboardtest: load %s: %v", pageURL, err)
	}
	return p
}

// listen collects the events that mean the page went wrong. It runs on the
// browser's reading goroutine, so it only takes notes.
func (p *Page) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			problem = "console." + string(ev.Type) + ": " + consoleArgs(ev.Args)
		}
	case *runtime.EventExceptionThrown:
		problem = "uncaught exception: " + exceptionText(ev.ExceptionDetails)
	case *log.EventEntryAdded:
		problem = logProblem(ev.Entry)
	}
	if problem == "" {
		return
	}
	p.mu.Lock()
	p.problems = append(p.problems, problem)
	p.mu.Unlock()
}

// logProblem describes a browser log entry that is an error, such as a
// Content-Security-Policy violation, or returns "". Failed requests (source
// "network") are left out: a page that polls must survive them, and tests
// check how it shows them.
func logProblem(e *log.Entry) string {
	if e == nil || e.Level != log.EntryLevelError || e.Source == log.EntrySourceNetwork {
		return ""
	}
	s := "browser " + string(e.Source) + " error: " + e.Text
	if e.URL != "" {
		s += fmt.Sprintf(" (%s:%d)", e.URL, e.LineNumber+1)
	}
	return s
}

// consoleArgs formats the arguments of a console call.
func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			var text string
			if json.Unmarshal(a.Value, &text) != nil {
				text = string(a.Value) // not a string: its JSON
			}
			parts = append(parts, text)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// exceptionText formats an uncaught exception with where it was thrown.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	if d.URL != "" {
		s += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return s
}

// CheckErrors fails the test for each console error and uncaught exception
// the page logged since the last check.
func (p *Page) CheckErrors() {
	p.t.Helper()
	p.mu.Lock()
	fresh := p.problems[p.reported:]
	p.reported = len(p.problems)
	p.mu.Unlock()
	for _, s := range fresh {
		p.t.Errorf("dashboardtest: the page logged %s", s)
	}
}

// run runs a browser action on the page within p.Timeout.
func (p *Page) run(a chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	return chromedp.Do(ctx, a)
}

// WaitText waits until the page's visible text (document.body.innerText)
// contains each of texts, and fails the test with what the page shows
// instead when that takes longer than p.Timeout.
func (p *Page) WaitText(texts ...string) {
	p.t.Helper()
	if len(texts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[chromedp.Void](
		`(want) => document.body !== null && want.every((s) => document.body.innerText.includes(s))`,
		chromedp.WithPollingArgs(texts),
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(p.Timeout),
	))
	if err == nil {
		return
	}
	p.CheckErrors()
	shown := p.Text("body")
	var missing []string
	for _, s := range texts {
		if !strings.Contains(shown, s) {
			missing = append(missing, s)
		}
	}
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "…"
	}
	p.t.Fatalf("dashboardtest: the page never showed %q (%v); it shows:\n%s", missing, err, shown)
}

// maxShown bounds how much of a page's text a failure message quotes.
const maxShown = 2000

// Text returns the visible text (innerText) of the first element that the
// CSS selector matches, waiting up to p.Timeout for one to exist.
func (p *Page) Text(selector string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	// Wait for the element, then read its text in one script: the page
	// redraws on every poll, and a node looked up first and read after may
	// be gone by then ("No node with given id found").
	sel, _ := json.Marshal(selector)
	read := chromedp.Evaluate[*string](`(e => e ? e.innerText : null)(document.querySelector(` + string(sel) + `))`)
	err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector)))
	for err == nil {
		var text *string
		if text, err = chromedp.Run(ctx, read); err == nil && text != nil {
			return *text
		}
		if err == nil { // gone in a redraw since the wait: look again
			err = clock.Sleep(ctx, 20*time.Millisecond)
		}
	}
	p.t.Fatalf("dashboardtest: text of %s: %v", selector, err)
	return ""
}

// Screenshot saves the viewport as a PNG at path, creating its directory,
// and logs the path.
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("dashboardtest: screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatalf("dashboardtest: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("dashboardtest: screenshot: %v", err)
	}
	p.t.Logf("screenshot: %s", path)
}

// Hover moves the mouse over the center of the first element that the CSS
// selector matches, scrolling it into view first, as a person pointing at
// it would.
func (p *Page) Hover(selector string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.QueryAfter(chromedp.CSS(selector), moveOnto))
	if err != nil {
		p.t.Fatalf("dashboardtest: hover over %s: %v", selector, err)
	}
}

// moveOnto moves the mouse to the center of the first of nodes.
func moveOnto(ctx context.Context, t *chromedp.Target, nodes []*chromedp.Node) (chromedp.Void, error) {
	if len(nodes) == 0 {
		return chromedp.Void{}, fmt.Errorf("no element")
	}
	id := nodes[0].NodeID
	if _, err := cdp.Call(ctx, t, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{NodeID: id}); err != nil {
		return chromedp.Void{}, err
	}
	quads, err := cdp.Call(ctx, t, dom.GetContentQuads, dom.GetContentQuadsParams{NodeID: id})
	if err != nil {
		return chromedp.Void{}, err
	}
	if len(quads.Quads) == 0 || len(quads.Quads[0]) != 8 {
		return chromedp.Void{}, fmt.Errorf("element has no box")
	}
	q := quads.Quads[0]
	x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
	_, err = cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: x, Y: y})
	return chromedp.Void{}, err
}
