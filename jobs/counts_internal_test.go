package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/rivertype"

	"github.com/heedhq/heed/internal/testenv"
)

// countCases are River rows (a state and the errors, oldest first) whose
// API state Counts must read as jobOf does.
var countCases = []struct {
	name   string
	state  rivertype.JobState
	errors []string // nil: the column is NULL
}{
	{"CancelledNoErrors", rivertype.JobStateCancelled, nil},
	{"CancelledEmptyErrors", rivertype.JobStateCancelled, []string{}},
	{"Cancelled", rivertype.JobStateCancelled, []string{"JobCancelError: context canceled"}},
	{"Expired", rivertype.JobStateCancelled, []string{"JobCancelError: " + errExpired.Error()}},
	{"ExpiredUnprefixed", rivertype.JobStateCancelled, []string{errExpired.Error()}},
	{"FailedAfterRetries", rivertype.JobStateCancelled, []string{"upstream answered 503", "JobCancelError: failed: upstream answered 400"}},
	{"LastErrorCounts", rivertype.JobStateCancelled, []string{"JobCancelError: failed: upstream answered 400", "JobCancelError: context canceled"}},
	{"FailedWithoutColon", rivertype.JobStateCancelled, []string{"JobCancelError: failedness"}},
	{"Discarded", rivertype.JobStateDiscarded, []string{"upstream answered 503"}},
	{"NotCancelledKeepsItsState", rivertype.JobStateRetryable, []string{"JobCancelError: " + errExpired.Error()}},
	{"Completed", rivertype.JobStateCompleted, nil},
}

// TestCountQueryReadsLikeJobOf: on SQLite and PostgreSQL, countQuery puts
// each row in the state jobOf gives it, alone in its table.
func TestCountQueryReadsLikeJobOf(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		db, err := sql.Open("sqlite", ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1) // one in-memory database
		t.Cleanup(func() { db.Close() })
		query, args := countQuery(sqliteLastError, func(int) string { return "?" })
		checkCountCases(t, countTable{
			exec: func(q string, args ...any) error { _, err := db.Exec(q, args...); return err },
			count: func() (map[string]int, error) {
				rows, err := db.Query(query, args...)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				return scanCounts(rows.Next, rows.Scan, rows.Err)
			},
			create: "CREATE TABLE river_job (kind text NOT NULL, state text NOT NULL, errors blob)",
			insert: "INSERT INTO river_job (kind, state, errors) VALUES (?, ?, jsonb(?))", // River keeps JSONB
		})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		pool, err := pgxpool.New(context.Background(), testenv.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		query, args := countQuery(postgresLastError, func(n int) string { return "$" + strconv.Itoa(n) })
		checkCountCases(t, countTable{
			exec: func(q string, args ...any) error { _, err := pool.Exec(context.Background(), q, args...); return err },
			count: func() (map[string]int, error) {
				rows, err := pool.Query(context.Background(), query, args...)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				return scanCounts(rows.Next, rows.Scan, rows.Err)
			},
			create: "CREATE TABLE river_job (kind text NOT NULL, state text NOT NULL, errors jsonb[])",
			insert: "INSERT INTO river_job (kind, state, errors) VALUES ($1, $2, (SELECT array_agg(e) FROM jsonb_array_elements($3::jsonb) AS e))",
		})
	})
}

// countTable is a driver's river_job stand-in: the columns Counts reads.
type countTable struct {
	exec   func(query string, args ...any) error
	count  func() (map[string]int, error)
	create string
	insert string // kind, state, and the errors as a JSON array or NULL
}

// checkCountCases puts each of countCases alone in the table, with a row
// of another kind beside it, and checks that Counts' query counts it once,
// in jobOf's state.
func checkCountCases(t *testing.T, tb countTable) {
	t.Helper()
	if err := tb.exec(tb.create); err != nil {
		t.Fatal(err)
	}
	for _, c := range countCases {
		if err := tb.exec("DELETE FROM river_job"); err != nil {
			t.Fatal(err)
		}
		var errs *string
		if c.errors != nil {
			list := []rivertype.AttemptError{} // [] rather than null when empty
			for i, e := range c.errors {
				list = append(list, rivertype.AttemptError{Attempt: i + 1, Error: e})
			}
			b, _ := json.Marshal(list)
			s := string(b)
			errs = &s
		}
		for _, kind := range []string{requestArgs{}.Kind(), callbackArgs{}.Kind()} {
			if err := tb.exec(tb.insert, kind, string(c.state), errs); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		row := &rivertype.JobRow{State: c.state, EncodedArgs: []byte("{}")}
		for _, e := range c.errors {
			row.Errors = append(row.Errors, rivertype.AttemptError{Error: e})
		}
		want := jobOf(row).State
		got, err := tb.count()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got[want] != 1 || sum(got) != 1 {
			t.Errorf("%s: counts %v, want one %s as jobOf says", c.name, got, want)
		}
	}
}

// sum adds up counts.
func sum(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}
