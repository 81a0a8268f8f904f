package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/heedhq/heed"
)

// A job's priority class among its upstream's fair shares
// (heed.FairnessPolicy) is the class it names (Request.Class) or else its
// priority, 1 to 4, which heed maps onto the upstream's classes in order
// (heed.WithPriority). An upstream without fair shares ignores both.

// classOf returns the class a job's request goes with.
func classOf(a Request) string {
	if a.Class != "" {
		return a.Class
	}
	switch {
	case a.Priority == 0: // a request not validated (Engine.Submit from Go): 0 means 2
		return "2"
	case a.Priority >= 1 && a.Priority <= 4:
		return strconv.Itoa(a.Priority)
	}
	return ""
}

// withClass returns ctx under which the job's request is of its class.
func withClass(ctx context.Context, a Request) context.Context {
	if c := classOf(a); c != "" {
		return heed.WithPriority(ctx, c)
	}
	return ctx
}

// checkClass refuses a job naming a class its upstream's fair shares do
// not have, when the engine can see them (Options.Classes).
func (e *Engine) checkClass(req Request) error {
	if req.Class == "" || e.opts.Classes == nil {
		return nil
	}
	classes := e.opts.Classes(req.Upstream)
	switch {
	case len(classes) == 0:
		return &FieldError{Field: "class", Msg: fmt.Sprintf("%q: upstream %q has no fair shares (no fairness section), so its requests have no class; leave class out",
			req.Class, req.Upstream)}
	case !slices.Contains(classes, req.Class):
		return &FieldError{Field: "class", Msg: fmt.Sprintf("%q is not a priority class of upstream %q (its classes: %s)",
			req.Class, req.Upstream, strings.Join(classes, ", "))}
	}
	return nil
}

// unknownClass returns the permanent failure of a job whose class its
// upstream does not have (a config reloaded since it was submitted, or an
// engine that cannot see the classes): no retry would help.
func unknownClass(a Request, err error) error {
	if !errors.Is(err, heed.ErrUnknownPriority) {
		return nil
	}
	return fmt.Errorf("%w: class %q: upstream %q has no such priority class: %w", errFailed, classOf(a), a.Upstream, withoutURL(err))
}
