package heed

import (
	"errors"
	"testing"
)

func TestSourceLine(t *testing.T) {
	t.Parallel()
	src := &Source{File: "heed.yaml", Lines: map[string]int{"upstreams": 3, "upstreams[0]": 4, "upstreams[0].retry": 6}}
	tests := []struct {
		path   string
		want   int
		wantOK bool
	}{
		{"upstreams[0].retry", 6, true},
		{"upstreams[0].retry.attempts", 6, true},
		{"upstreams[0].limits[2].per", 4, true},
		{"upstreams[1]", 3, true},
		{"tenant", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		if got, ok := src.Line(tt.path); got != tt.want || ok != tt.wantOK {
			t.Errorf("Line(%q): got (%d, %v), want (%d, %v)", tt.path, got, ok, tt.want, tt.wantOK)
		}
	}
	if got, ok := (*Source)(nil).Line("upstreams"); got != 0 || ok {
		t.Errorf("nil Source: got (%d, %v), want (0, false)", got, ok)
	}
}

func TestSourceLocate(t *testing.T) {
	t.Parallel()
	src := &Source{File: "heed.yaml", Lines: map[string]int{"listen": 2, "jobs": 5}}
	plain := errors.New("heed: not about a field")
	placed := &ConfigError{Path: "listen", File: "other.yaml", Line: 9, Err: errors.New("kept")}
	listen := NewConfigError("listen", "listen %q: want host:port", "x")
	err := src.Locate(errors.Join(listen, NewConfigError("jobs.workers", "jobs.workers must not be negative"),
		NewConfigError("tenant", "tenant: not in the file"), plain, placed))
	want := "heed: heed.yaml:2: listen \"x\": want host:port\n" +
		"heed: heed.yaml:5: jobs.workers must not be negative\n" +
		"heed: tenant: not in the file\n" +
		"heed: not about a field\n" +
		"heed: other.yaml:9: kept"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	if listen.File != "" {
		t.Errorf("Locate changed its argument: %+v", listen)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Path != "listen" || ce.Line != 2 {
		t.Errorf("errors.As: got %+v, want the listen problem at line 2", ce)
	}
	if got := (*Source)(nil).Locate(listen); got != error(listen) {
		t.Errorf("nil Source: got %v, want the error unchanged", got)
	}
	if got := src.Locate(nil); got != nil {
		t.Errorf("nil error: got %v, want nil", got)
	}
}
