package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/heedhq/heed/quota"
)

// writeText writes e for a person: a verdict line, the vendor when known,
// the moment resets are measured from when any is shown, a table of quotas
// and one line per warning.
func writeText(w io.Writer, e explanation) error {
	var b bytes.Buffer
	s := e.signal
	fmt.Fprintln(&b, verdict(s))
	if s.Vendor != "" {
		fmt.Fprintf(&b, "vendor: %s\n", printable(s.Vendor))
	}
	if hasReset(s.Quotas) {
		fmt.Fprintf(&b, "as of: %s (%s)\n", formatTime(e.now), e.nowFrom)
	}
	if len(s.Quotas) > 0 {
		b.WriteString("\n")
		writeQuotaTable(&b, s.Quotas, e.now)
	}
	if len(s.Warnings) > 0 {
		b.WriteString("\n")
	}
	for _, warn := range s.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", printable(warn.String()))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// verdict returns the first line of the text output, e.g.
// "429 rate limited: wait 42s (retry-after)".
func verdict(s quota.Signal) string {
	return statusWord(s.Status) + " " + label(s) + ": " + advice(s)
}

// statusWord returns the status code, or "(no status)" when it is unknown.
func statusWord(status int) string {
	if status == 0 {
		return "(no status)"
	}
	return strconv.Itoa(status)
}

// label names what the response says: a cause, else the status's text.
func label(s quota.Signal) string {
	switch s.Cause {
	case quota.CauseRateLimit:
		return "rate limited"
	case quota.CauseQuotaExhausted:
		return "quota exhausted"
	case quota.CauseOverloaded:
		return "overloaded"
	}
	if s.Limited {
		return "limited"
	}
	if text := http.StatusText(s.Status); text != "" {
		return strings.ToLower(text)
	}
	return "not limited"
}

// advice says what the caller should do about the response.
func advice(s quota.Signal) string {
	switch {
	case s.Cause == quota.CauseQuotaExhausted && s.Wait > 0:
		return "waiting will not help (" + waitSource(s) + " says " + formatDuration(s.Wait) + ")"
	case s.Cause == quota.CauseQuotaExhausted:
		return "waiting will not help"
	case s.Cause == quota.CauseOverloaded && s.Wait > 0:
		return "not your quota; " + waitPhrase(s)
	case s.Cause == quota.CauseOverloaded:
		return "not your quota; retry with backoff"
	case s.Wait > 0:
		return waitPhrase(s)
	case s.Limited:
		return "the response does not say how long to wait"
	}
	return "nothing says to wait"
}

// waitPhrase returns "wait 42s (retry-after)".
func waitPhrase(s quota.Signal) string {
	return "wait " + formatDuration(s.Wait) + " (" + waitSource(s) + ")"
}

// waitSource names what set the wait, or says that nothing named it.
func waitSource(s quota.Signal) string {
	if s.WaitSource == "" {
		return "source unknown"
	}
	return printable(s.WaitSource)
}

// writeQuotaTable writes quotas as an aligned table, "-" for what the
// response did not say.
func writeQuotaTable(w io.Writer, quotas []quota.Quota, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUOTA\tLIMIT\tREMAINING\tRESET\tWINDOW")
	for _, q := range quotas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(printable(q.Name)),
			formatCount(q.Limit, q.HasLimit), formatCount(q.Remaining, q.HasRemaining),
			resetCell(q.Reset, now), windowCell(q.Window))
	}
	tw.Flush()
}

// hasReset reports whether any quota has a known reset.
func hasReset(quotas []quota.Quota) bool {
	for _, q := range quotas {
		if !q.Reset.IsZero() {
			return true
		}
	}
	return false
}

// formatCount formats a count, or "-" when it is unknown.
func formatCount(v float64, known bool) string {
	if !known {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// resetCell formats a reset as "2026-04-14T09:53:38Z (in 41m20s)", or "-".
func resetCell(reset, now time.Time) string {
	if reset.IsZero() {
		return "-"
	}
	return formatTime(reset) + " (" + relative(reset, now) + ")"
}

// relative says when t is from now: "in 42s", or "passed".
func relative(t, now time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return "passed"
	}
	return "in " + formatDuration(d)
}

// windowCell formats a quota's window, or "-" when it is unknown.
func windowCell(window time.Duration) string {
	if window == 0 {
		return "-"
	}
	return formatDuration(window)
}

// timeLayout is RFC 3339 with milliseconds when they are not zero.
const timeLayout = "2006-01-02T15:04:05.999Z07:00"

// formatTime formats t in UTC as RFC 3339, to the millisecond.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// formatDuration rounds d sensibly for a person: to the millisecond under
// 10s ("1.5s", "20ms"), else to the second ("42s", "6m0s").
func formatDuration(d time.Duration) string {
	if d > -10*time.Second && d < 10*time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable returns s as is when every rune prints, else quoted with
// escapes, so that a server's header cannot move the cursor or break the
// table.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
