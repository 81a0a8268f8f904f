package jobs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/heedhq/heed"
)

func TestClassOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"PriorityFirst", Request{Priority: 1}, "1"},
		{"PriorityDefault", Request{Priority: 2}, "2"},
		{"PriorityLast", Request{Priority: 4}, "4"},
		{"PriorityUnset", Request{}, "2"}, // not validated (Engine.Submit from Go): 0 means 2
		{"ClassWins", Request{Priority: 1, Class: "batch"}, "batch"},
		{"ClassWithoutPriority", Request{Class: "interactive"}, "interactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := classOf(tt.req); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckClass(t *testing.T) {
	t.Parallel()
	classes := func(upstream string) []string {
		if upstream == "openai" {
			return []string{"interactive", "batch"}
		}
		return nil
	}
	tests := []struct {
		name    string
		classes func(string) []string
		req     Request
		want    string // a part of the error; "" for none
	}{
		{"NoClass", classes, Request{Upstream: "openai", Priority: 3}, ""},
		{"Known", classes, Request{Upstream: "openai", Class: "batch"}, ""},
		{"Unknown", classes, Request{Upstream: "openai", Class: "urgent"},
			`class: "urgent" is not a priority class of upstream "openai" (its classes: interactive, batch)`},
		{"NoFairShares", classes, Request{Upstream: "github", Class: "batch"},
			`class: "batch": upstream "github" has no fair shares (no fairness section)`},
		{"Unseen", nil, Request{Upstream: "openai", Class: "urgent"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Engine{opts: Options{Classes: tt.classes}}
			err := e.checkClass(tt.req)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want %q", err, tt.want)
			case tt.want != "" && !errors.As(err, new(*FieldError)):
				t.Errorf("got %T, want a *FieldError", err)
			}
		})
	}
}

func TestUnknownClassIsFinal(t *testing.T) {
	t.Parallel()
	a := Request{Upstream: "openai", Class: "urgent"}
	core := fmt.Errorf("heed: upstream %q: class %q: %w", "openai", "urgent", heed.ErrUnknownPriority)
	err := unknownClass(a, core)
	if !errors.Is(err, errFailed) || !errors.Is(err, heed.ErrUnknownPriority) || !strings.Contains(err.Error(), `class "urgent"`) {
		t.Errorf("got %v, want a failure naming the class and wrapping ErrUnknownPriority", err)
	}
	if causeOf(err.Error()) != StateFailed {
		t.Errorf("cause of %q: got %q, want failed", err, causeOf(err.Error()))
	}
	if err := unknownClass(a, errors.New("connection refused")); err != nil {
		t.Errorf("another error: got %v, want nil (retried as usual)", err)
	}
}
