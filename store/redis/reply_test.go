package redis

import (
	"testing"
	"time"
)

func TestParseCooldown(t *testing.T) {
	const until = 1_800_000_060_000_000
	u := "1800000060000000"
	tests := []struct {
		name    string
		reply   any
		wantAt  time.Time
		wantErr bool
	}{
		{"At", []any{u, "429", "retry-after", "", "1800000000000001 " + u}, time.UnixMicro(1_800_000_000_000_001), false},
		{"NoAtField", []any{u, "429", "", "", "0"}, time.Time{}, false},
		{"ZeroAt", []any{u, "429", "", "", "0 " + u}, time.Time{}, false},
		{"AtOfAnotherCooldown", []any{u, "429", "", "", "1800000000000001 1800000050000000"}, time.Time{}, false},
		{"BadAt", []any{u, "429", "", "", "soon"}, time.Time{}, true},
		{"FourFields", []any{u, "429", "", ""}, time.Time{}, true},
		{"NotAString", []any{u, int64(429), "", "", "0"}, time.Time{}, true},
		{"NotAList", "cooldown", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cd, err := parseCooldown(tt.reply)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !cd.At.Equal(tt.wantAt) || cd.At.IsZero() != tt.wantAt.IsZero() || cd.Until.UnixMicro() != until {
				t.Fatalf("got At %v Until %v, want At %v Until %d", cd.At, cd.Until, tt.wantAt, until)
			}
		})
	}
}
