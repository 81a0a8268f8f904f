package cli

import (
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/heedhq/heed/quota"
)

// explanationJSON is heed explain --json's output. Unknown fields are
// omitted, never invented; quotas and warnings are always arrays.
type explanationJSON struct {
	// Status is omitted when the input had no status line and no --status.
	Status      int           `json:"status,omitempty"`
	Vendor      string        `json:"vendor,omitempty"`
	Limited     bool          `json:"limited"`
	Cause       string        `json:"cause"`
	WaitHelps   bool          `json:"wait_helps"`
	WaitSeconds float64       `json:"wait_seconds"`
	WaitSource  string        `json:"wait_source,omitempty"`
	Quotas      []quotaJSON   `json:"quotas"`
	Warnings    []warningJSON `json:"warnings"`
}

// quotaJSON is one quota in explanationJSON. Counts are pointers so that a
// known 0 is kept and an unknown count omitted.
type quotaJSON struct {
	Name      string   `json:"name"`
	Unit      string   `json:"unit,omitempty"`
	Limit     *float64 `json:"limit,omitempty"`
	Remaining *float64 `json:"remaining,omitempty"`
	// Reset is RFC 3339 in UTC, with fractional seconds when it has them.
	Reset string `json:"reset,omitempty"`
	// ResetSeconds is Reset relative to the explanation's now; negative
	// when the reset has passed.
	ResetSeconds    *float64 `json:"reset_seconds,omitempty"`
	WindowSeconds   float64  `json:"window_seconds,omitempty"`
	RefillPerSecond float64  `json:"refill_per_second,omitempty"`
	Source          string   `json:"source,omitempty"`
}

// warningJSON is one warning in explanationJSON.
type warningJSON struct {
	Field   string `json:"field"`
	Value   string `json:"value"`
	Problem string `json:"problem"`
}

// writeJSON writes e as one JSON object on one line.
func writeJSON(w io.Writer, e explanation) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(newExplanationJSON(e))
}

// newExplanationJSON converts e for writeJSON.
func newExplanationJSON(e explanation) explanationJSON {
	s := e.signal
	out := explanationJSON{
		Status: s.Status, Vendor: s.Vendor, Limited: s.Limited, Cause: s.Cause.String(),
		WaitHelps: s.WaitHelps(), WaitSeconds: seconds(s.Wait), WaitSource: s.WaitSource,
		Quotas: make([]quotaJSON, 0, len(s.Quotas)), Warnings: make([]warningJSON, 0, len(s.Warnings)),
	}
	for _, q := range s.Quotas {
		out.Quotas = append(out.Quotas, newQuotaJSON(q, e.now))
	}
	for _, w := range s.Warnings {
		out.Warnings = append(out.Warnings, warningJSON{Field: w.Field, Value: w.Value, Problem: w.Problem})
	}
	return out
}

// newQuotaJSON converts q, measuring its reset from now.
func newQuotaJSON(q quota.Quota, now time.Time) quotaJSON {
	out := quotaJSON{
		Name: q.Name, Unit: q.Unit, Source: q.Source,
		Limit: known(q.Limit, q.HasLimit), Remaining: known(q.Remaining, q.HasRemaining),
		WindowSeconds: seconds(q.Window), RefillPerSecond: finiteOrZero(q.Refill),
	}
	if !q.Reset.IsZero() {
		out.Reset = q.Reset.UTC().Format(time.RFC3339Nano)
		out.ResetSeconds = known(seconds(q.Reset.Sub(now)), true)
	}
	return out
}

// seconds converts d to seconds, exactly for any d under 104 days.
func seconds(d time.Duration) float64 { return float64(d) / float64(time.Second) }

// known returns &v when v is known and finite (JSON has no NaN or
// infinity), else nil.
func known(v float64, ok bool) *float64 {
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// finiteOrZero returns v, or 0 (omitted) when JSON cannot encode it.
func finiteOrZero(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
