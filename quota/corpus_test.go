package quota

// The corpus test: every vendor case that existed before a change of the
// rules keeps its answer (the whole Signal, not only what the case checks),
// except the cases listed in vcIntendedChanges. The answers are frozen in
// testdata/vendor_corpus_before.golden; the changes, old answer and new, are
// kept in testdata/vendor_corpus_changed.golden so that a review sees them.
//
//	go test ./quota -run TestVendorCorpus -corpus-freeze  # once, before a rule change
//	go test ./quota -run TestVendorCorpus -corpus-update  # rewrite the changed list

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	corpusFreeze = flag.Bool("corpus-freeze", false, "write testdata/vendor_corpus_before.golden from the current rules")
	corpusUpdate = flag.Bool("corpus-update", false, "write testdata/vendor_corpus_changed.golden")
)

const (
	corpusBeforeFile  = "testdata/vendor_corpus_before.golden"
	corpusChangedFile = "testdata/vendor_corpus_changed.golden"
)

// vcIntendedChanges lists the cases whose answer a rule change altered on
// purpose, with the reason. Every entry must really have changed.
var vcIntendedChanges = map[string]string{
	"openai/FractionalDurationResetLongerThanRetryAfter":         "wait rule: OpenAI's x-ratelimit-reset-requests is the bucket's full-refill time; the response's Retry-After wins",
	"anthropic/RateLimitError429TokensResetLongerThanRetryAfter": "wait rule: Anthropic's anthropic-ratelimit-*-reset is the bucket's full-refill time; the response's retry-after wins",
	"retry-after/HugeDelayIsWarnedAndIgnored":                    "long waits: beyond a year is reported as a year with a warning, not dropped (renamed ...ReportedAsAYear)",
	"retry-after/FarFutureDateIsWarnedAndIgnored":                "long waits: beyond a year is reported as a year with a warning, not dropped (renamed ...ReportedAsAYear)",
	"hubspot/Secondly429PolicyName":                              "HubSpot: an exhausted ten-secondly interval (Interval-Milliseconds with Remaining 0) waits the interval, 0s -> 10s",
	"retry-after/OneSecondOverMaxPlausibleWaitIsIgnored":         "long waits: beyond a year is reported as a year with a warning, not dropped (renamed ...ReportedAsAYear)",
}

// vcRenamed maps the frozen name of a case to its name now, for cases whose
// name described an answer that a rule change altered.
var vcRenamed = map[string]string{
	"retry-after/HugeDelayIsWarnedAndIgnored":            "retry-after/HugeDelayIsWarnedAndReportedAsAYear",
	"retry-after/FarFutureDateIsWarnedAndIgnored":        "retry-after/FarFutureDateIsWarnedAndReportedAsAYear",
	"retry-after/OneSecondOverMaxPlausibleWaitIsIgnored": "retry-after/OneSecondOverMaxPlausibleWaitIsReportedAsAYear",
}

// vcAnswer formats everything Parse answers for a case, one fact a line.
func vcAnswer(c vcCase) string {
	now := c.now
	if now.IsZero() {
		now = vcNow
	}
	s := Parse(c.resp, now)
	var b strings.Builder
	fmt.Fprintf(&b, "limited=%v cause=%v wait=%v source=%q vendor=%q\n", s.Limited, s.Cause, s.Wait, s.WaitSource, s.Vendor)
	for _, q := range s.Quotas {
		fmt.Fprintf(&b, "quota %q unit=%q limit=%s remaining=%s reset=%s window=%v refill=%s source=%q\n",
			q.Name, q.Unit, vcOpt(q.Limit, q.HasLimit), vcOpt(q.Remaining, q.HasRemaining),
			vcCorpusTime(q.Reset, now), q.Window, strconv.FormatFloat(q.Refill, 'g', -1, 64), q.Source)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.String()
}

// vcCorpusTime formats a reset relative to the case's arrival time.
func vcCorpusTime(t, now time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return "now+" + t.Sub(now).String()
}

// vcCorpus returns the answer of every vendor case, keyed "group/name".
func vcCorpus() map[string]string {
	out := map[string]string{}
	for group, cases := range vcGroups() {
		for _, c := range cases {
			out[group+"/"+c.name] = vcAnswer(c)
		}
	}
	return out
}

// writeCorpus writes answers as "== key" blocks in key order.
func writeCorpus(path string, answers map[string]string) error {
	var b strings.Builder
	for _, k := range slices.Sorted(mapKeys(answers)) {
		fmt.Fprintf(&b, "== %s\n%s", k, answers[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readCorpus reads what writeCorpus wrote.
func readCorpus(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	key := ""
	for line := range strings.SplitSeq(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "== "):
			key = strings.TrimPrefix(line, "== ")
			out[key] = ""
		case key != "" && line != "":
			out[key] += line + "\n"
		}
	}
	return out, nil
}

func TestVendorCorpus(t *testing.T) {
	now := vcCorpus()
	if *corpusFreeze {
		if err := writeCorpus(corpusBeforeFile, now); err != nil {
			t.Fatal(err)
		}
	}
	before, err := readCorpus(corpusBeforeFile)
	if err != nil {
		t.Fatalf("reading the frozen corpus: %v", err)
	}
	changed := map[string]string{}
	for key, old := range before {
		got, ok := now[cmp.Or(vcRenamed[key], key)]
		switch {
		case !ok:
			t.Errorf("case %s: gone, want every case of the frozen corpus kept", key)
		case got == old:
			if _, listed := vcIntendedChanges[key]; listed {
				t.Errorf("case %s: listed as intentionally changed, but its answer is the same", key)
			}
		default:
			reason, listed := vcIntendedChanges[key]
			if !listed {
				t.Errorf("case %s: answer changed and the change is not listed as intended:\nold:\n%snew:\n%s", key, old, got)
			}
			changed[key] = "# " + reason + "\n" + indent("old: ", old) + indent("new: ", got)
		}
	}
	for key := range vcIntendedChanges {
		if _, ok := before[key]; !ok {
			t.Errorf("vcIntendedChanges names %s, which is not in the frozen corpus", key)
		}
	}
	if *corpusUpdate {
		if err := writeCorpus(corpusChangedFile, changed); err != nil {
			t.Fatal(err)
		}
	}
	want, err := readCorpus(corpusChangedFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for key, c := range changed {
		if want[key] != c {
			t.Errorf("case %s: change not recorded in %s (run with -corpus-update):\n%s", key, corpusChangedFile, c)
		}
	}
	for key := range want {
		if _, ok := changed[key]; !ok {
			t.Errorf("%s records %s, which did not change", corpusChangedFile, key)
		}
	}
}

// indent prefixes every line of s.
func indent(prefix, s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}
