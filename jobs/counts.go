package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/riverqueue/river/rivertype"
)

// Counts returns how many jobs are in each state, every state of the API
// present and each job counted in the state Get reports for it.
func (e *Engine) Counts(ctx context.Context) (map[string]int, error) {
	out, err := e.count(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: counts: %w", err)
	}
	return out, nil
}

// The SQL expressions of a job's last error, the error of the last element
// of river_job.errors, as jobOf reads it. SQLite keeps the errors as a JSON
// array (JSONB since River's migration 7; the guard against text that is
// not JSON is River's own, and such text counts as no error), PostgreSQL as
// jsonb[].
const (
	sqliteLastError   = `CASE WHEN typeof(errors) = 'text' AND NOT json_valid(errors) THEN NULL ELSE json_extract(errors, '$[#-1].error') END`
	postgresLastError = `errors[cardinality(errors)]->>'error'`
)

// countQuery is Counts' query, with its arguments, for a driver whose
// expression of a job's last error is lastError and whose n-th placeholder
// (from 1) is mark(n). Its rows are (River state, cause, count), the cause
// being what causeOf reads in the last error, or empty.
func countQuery(lastError string, mark func(n int) string) (string, []any) {
	var args []any
	arg := func(v string) string {
		args = append(args, v)
		return mark(len(args))
	}
	var when strings.Builder
	for _, c := range cancelCauses {
		for _, p := range []string{c.prefix, riverCancelPrefix + c.prefix} { // ASCII, so len(p) counts characters as substr does
			fmt.Fprintf(&when, " WHEN substr(last_error, 1, %d) = %s THEN %s", len(p), arg(p), arg(c.state))
		}
	}
	kind := arg(requestArgs{}.Kind())
	return "SELECT state, cause, count(*) FROM (SELECT state, CASE" + when.String() + " ELSE '' END AS cause" +
		" FROM (SELECT state, " + lastError + " AS last_error FROM river_job WHERE kind = " + kind + ") AS l) AS c" +
		" GROUP BY state, cause", args
}

// scanCounts reads countQuery's rows into the API's states, every state
// present.
func scanCounts(next func() bool, scan func(...any) error, rowsErr func() error) (map[string]int, error) {
	out := map[string]int{StateQueued: 0, StateWaitingQuota: 0, StateRunning: 0, StateSucceeded: 0,
		StateFailed: 0, StateCancelled: 0, StateExpired: 0}
	for next() {
		var state, cause string
		var n int
		if err := scan(&state, &cause, &n); err != nil {
			return nil, err
		}
		out[stateOf(rivertype.JobState(state), cause)] += n
	}
	return out, rowsErr()
}
