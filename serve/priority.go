package serve

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/heedhq/heed"
)

// PriorityHeader is the request header that names a request's priority
// class among its upstream's fair shares (heed.FairnessPolicy), as
// heed.WithPriority does in Go: a class of the upstream, or "1" to "4",
// a job's priority, mapped onto its classes in order. heed serve removes
// it before the request goes upstream. Without it, the upstream's
// default_priority applies; an upstream without fair shares ignores it.
const PriorityHeader = "Heed-Priority"

// priorityAsked is what a request's PriorityHeader asked for, and the
// classes its upstream had in the config in force, kept in its context so
// that proxyError can word the core's refusal.
type priorityAsked struct {
	upstream, class string
	classes         []string
}

// priorityKey is the context key of a priorityAsked.
type priorityKey struct{}

// withPriority returns r with the class its PriorityHeader names, for the
// upstream named upstream; a malformed one (not a class name, or given
// twice) is answered with a 400 and ok false. Whether the upstream has
// the class is the Transport's to say (heed.ErrUnknownPriority, which
// proxyError answers).
func (g *generation) withPriority(w http.ResponseWriter, r *http.Request, upstream string) (_ *http.Request, ok bool) {
	values := r.Header.Values(PriorityHeader)
	if len(values) == 0 {
		return r, true
	}
	class := strings.TrimSpace(values[0])
	if len(values) > 1 || !heed.ValidPriority(class) {
		writeError(w, http.StatusBadRequest, apiError{Error: CodeInvalidPriority,
			Message: fmt.Sprintf("header %s must name one priority class: [a-z0-9][a-z0-9_.-]*, at most %d bytes", PriorityHeader, heed.MaxPriorityLen)})
		return r, false
	}
	ctx := context.WithValue(heed.WithPriority(r.Context(), class), priorityKey{}, priorityAsked{upstream: upstream, class: class, classes: g.classes[upstream]})
	return r.WithContext(ctx), true
}

// unknownPriority is the 400 of a request whose PriorityHeader names a
// class its upstream lacks, listing those it has.
func unknownPriority(r *http.Request, err error) apiError {
	asked, ok := r.Context().Value(priorityKey{}).(priorityAsked)
	if !ok { // the core refused a class heed serve did not ask for
		return apiError{Error: CodeUnknownPriority, Message: err.Error()}
	}
	classes := asked.classes
	return apiError{Error: CodeUnknownPriority, Classes: classes,
		Message: fmt.Sprintf("header %s: upstream %q has no priority class %q; its classes are %s (or 1 to 4, a job's priority, mapped onto them in order)",
			PriorityHeader, asked.upstream, asked.class, strings.Join(classes, ", "))}
}

// fairClasses maps each upstream of cfg with fair shares to the names of
// its priority classes, in order (its defaults filled in: one class,
// "default", when it names none).
func fairClasses(cfg heed.Config) map[string][]string {
	m := make(map[string][]string)
	for _, u := range cfg.WithDefaults().Upstreams {
		if u.Fairness == nil {
			continue
		}
		for _, p := range u.Fairness.Priorities {
			m[u.Name] = append(m[u.Name], p.Name)
		}
	}
	return m
}
