package heed

import (
	"reflect"
	"strings"
	"testing"
)

// TestValidateFairness: every problem of a fairness section names its
// field: by, priorities[i] (its name, its share), default_priority,
// max_queue.
func TestValidateFairness(t *testing.T) {
	t.Parallel()
	const at = `heed: upstreams[1] "github": fairness: `
	two := []Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}
	tests := []struct {
		name string
		f    FairnessPolicy
		want []string // every problem, in order; none for a valid section
	}{
		{"Zero", FairnessPolicy{}, nil},
		{"Issue", FairnessPolicy{By: "tenant", Priorities: two, DefaultPriority: "interactive"}, nil},
		{"ByCredential", FairnessPolicy{By: "credential"}, nil},
		{"ByHeader", FairnessPolicy{By: "header:X-Customer"}, nil},
		{"ByHeaderSpaced", FairnessPolicy{By: "header: X-Customer"}, nil},
		{"ByUnknown", FairnessPolicy{By: "customer"}, []string{at + `by "customer": want tenant, credential or header:Name`}},
		{"ByUpperCase", FairnessPolicy{By: "Tenant"}, []string{at + `by "Tenant": want tenant, credential or header:Name`}},
		{"ByHeaderEmpty", FairnessPolicy{By: "header:"}, []string{at + `by "header:": name the header, as in header:X-Customer`}},
		{"ByHeaderInvalid", FairnessPolicy{By: "header:X Customer"}, []string{at + `by "header:X Customer": not a header name`}},
		{"ByAuthorization", FairnessPolicy{By: "header:authorization"}, []string{
			at + `by "header:authorization": Authorization carries a credential; a flow's name is shown on the dashboard`}},
		{"ByAPIKey", FairnessPolicy{By: "header:X-Api-Key"}, []string{
			at + `by "header:X-Api-Key": X-Api-Key carries a credential; a flow's name is shown on the dashboard`}},
		{"ByCookie", FairnessPolicy{By: "header:Cookie"}, []string{
			at + `by "header:Cookie": Cookie carries a credential; a flow's name is shown on the dashboard`}},
		{"ByUpstreamCredential", FairnessPolicy{By: "header:x-billing-token"}, []string{
			at + `by "header:x-billing-token": X-Billing-Token carries a credential; a flow's name is shown on the dashboard`}},
		{"NameInvalid", FairnessPolicy{Priorities: []Priority{{Name: "Interactive", Share: 1}}}, []string{
			at + `priorities[0]: name "Interactive" must match [a-z0-9][a-z0-9_.-]* within 32 bytes`}},
		{"NameEmpty", FairnessPolicy{Priorities: []Priority{{Name: "a", Share: 1}, {Share: 1}}}, []string{
			at + `priorities[1]: name "" must match [a-z0-9][a-z0-9_.-]* within 32 bytes`}},
		{"NameTooLong", FairnessPolicy{Priorities: []Priority{{Name: strings.Repeat("a", 33), Share: 1}}, DefaultPriority: "a"}, []string{
			at + `priorities[0]: name "` + strings.Repeat("a", 33) + `" must match [a-z0-9][a-z0-9_.-]* within 32 bytes`,
			at + `default_priority "a" is none of the priorities`}},
		{"NameLongest", FairnessPolicy{Priorities: []Priority{{Name: strings.Repeat("a", 32), Share: 1}}}, nil},
		{"NameTwice", FairnessPolicy{Priorities: []Priority{{Name: "batch", Share: 1}, {Name: "batch", Share: 2}}}, []string{
			at + `priorities[1]: name "batch" given twice`}},
		{"ShareZero", FairnessPolicy{Priorities: []Priority{{Name: "batch"}}}, []string{
			at + `priorities[0]: share 0: want 1 to 1000`}},
		{"ShareHigh", FairnessPolicy{Priorities: []Priority{{Name: "batch", Share: 1001}}}, []string{
			at + `priorities[0]: share 1001: want 1 to 1000`}},
		{"ShareHighest", FairnessPolicy{Priorities: []Priority{{Name: "batch", Share: 1000}}}, nil},
		{"TooManyClasses", FairnessPolicy{Priorities: classes(17)}, []string{at + `priorities: 17 classes, at most 16`}},
		{"SixteenClasses", FairnessPolicy{Priorities: classes(16)}, nil},
		{"DefaultUnknown", FairnessPolicy{Priorities: two, DefaultPriority: "urgent"}, []string{
			at + `default_priority "urgent" is none of the priorities`}},
		{"DefaultWithoutPriorities", FairnessPolicy{DefaultPriority: "default"}, nil},
		{"MaxQueueNegative", FairnessPolicy{MaxQueue: -1}, []string{at + `max_queue must not be negative`}},
		{"Several", FairnessPolicy{By: "everyone", Priorities: []Priority{{Name: "a", Share: 0}}, MaxQueue: -5}, []string{
			at + `by "everyone": want tenant, credential or header:Name`,
			at + `priorities[0]: share 0: want 1 to 1000`,
			at + `max_queue must not be negative`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			c.Upstreams[1].Credentials.Headers = []string{"X-Billing-Token"}
			f := tt.f
			c.Upstreams[1].Fairness = &f
			if got, want := errorLines(c.Validate()), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// classes returns n classes of share 1, named ca, cb...
func classes(n int) []Priority {
	out := make([]Priority, n)
	for i := range out {
		out[i] = Priority{Name: "c" + string(rune('a'+i)), Share: 1}
	}
	return out
}

// TestFairnessDefaults: an empty section is one class, default, of share
// 1, flows by tenant, 1000 waiting per flow; a given one keeps its values
// and gets its own copy of its classes.
func TestFairnessDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   FairnessPolicy
		want FairnessPolicy
	}{
		{"Empty", FairnessPolicy{}, FairnessPolicy{By: FairByTenant, Priorities: []Priority{{Name: "default", Share: 1}},
			DefaultPriority: "default", MaxQueue: 1000}},
		{"DefaultIsFirst", FairnessPolicy{By: "credential", Priorities: []Priority{{Name: "batch", Share: 1}, {Name: "bulk", Share: 2}}},
			FairnessPolicy{By: "credential", Priorities: []Priority{{Name: "batch", Share: 1}, {Name: "bulk", Share: 2}},
				DefaultPriority: "batch", MaxQueue: 1000}},
		{"Given", FairnessPolicy{By: "header:X-Customer", Priorities: []Priority{{Name: "a", Share: 1}, {Name: "b", Share: 9}},
			DefaultPriority: "b", MaxQueue: 5},
			FairnessPolicy{By: "header:X-Customer", Priorities: []Priority{{Name: "a", Share: 1}, {Name: "b", Share: 9}},
				DefaultPriority: "b", MaxQueue: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Config{Upstreams: []Upstream{{Name: "api", BaseURL: "https://api.example.com", Fairness: &tt.in}}}
			d := c.WithDefaults()
			got := d.Upstreams[0].Fairness
			if got == nil || !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if len(tt.in.Priorities) > 0 {
				got.Priorities[0].Share = 999
				if tt.in.Priorities[0].Share == 999 {
					t.Error("the defaults share the config's slice of priorities")
				}
			}
		})
	}
}

func TestValidPriority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"Word", "interactive", true},
		{"Digit", "1", true},
		{"Punctuated", "batch_2.low-x", true},
		{"Longest", strings.Repeat("a", MaxPriorityLen), true},
		{"Empty", "", false},
		{"TooLong", strings.Repeat("a", MaxPriorityLen+1), false},
		{"Upper", "Batch", false},
		{"LeadingDash", "-batch", false},
		{"Space", "bat ch", false},
		{"Markup", "<b>", false},
		{"NonASCII", "bätch", false},
		{"Slash", "a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidPriority(tt.in); got != tt.want {
				t.Errorf("ValidPriority(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
