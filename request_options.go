package heed

import (
	"context"
	"errors"
	"time"
)

// requestOptions is what a request's context tells heed (WithTenant,
// WithUpstream, WithMaxWait): one context value, so that a RoundTrip
// looks once.
type requestOptions struct {
	tenant, upstream string
	priority         string
	maxWait          time.Duration
	hasMaxWait       bool
}

// optionsKey carries requestOptions in a context.
type optionsKey struct{}

// optionsOf returns what ctx tells heed.
func optionsOf(ctx context.Context) requestOptions {
	o, _ := ctx.Value(optionsKey{}).(requestOptions)
	return o
}

// with returns ctx carrying its options changed by f.
func with(ctx context.Context, f func(*requestOptions)) context.Context {
	o := optionsOf(ctx)
	f(&o)
	return context.WithValue(ctx, optionsKey{}, o)
}

// tenantOr returns the request's tenant, or def when it names none.
func (o requestOptions) tenantOr(def string) string {
	if o.tenant != "" {
		return o.tenant
	}
	return def
}

// MaxTenantLen bounds a tenant's name from outside the program, such as
// heed serve's tenant_header.
const MaxTenantLen = 64

// ValidTenant reports whether s can name a tenant: it matches
// [A-Za-z0-9][A-Za-z0-9_.-]* (as Config.Tenant must) and is at most
// MaxTenantLen bytes.
func ValidTenant(s string) bool { return len(s) <= MaxTenantLen && validName(s, true) }

// WithTenant returns a context under which a request belongs to tenant
// instead of Config.Tenant, so that one Transport serves many tenants
// (heed serve sets it from its tenant_header). The tenant keys the
// per-tenant limits (Limit.PerTenant) and no credential's state: a
// cooldown of a credential binds every tenant that uses it, since the
// quota is the credential's. "" leaves Config.Tenant in force.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return with(ctx, func(o *requestOptions) { o.tenant = tenant })
}

// WithUpstream returns a context under which a request is governed by the
// upstream named name, not by the one whose base URL matches best: for
// callers that know it (heed serve's /{upstream}/ routes, several
// upstreams on one host). The request's URL must still lie under that
// upstream's base URL; RoundTrip returns an error otherwise, and for a
// name no upstream has.
func WithUpstream(ctx context.Context, name string) context.Context {
	return with(ctx, func(o *requestOptions) { o.upstream = name })
}

// WithMaxWait returns a context under which a request waits at most d
// before it leaves (less than the upstream's max_wait, never more): a
// request that would wait longer is answered at once with a synthetic
// response whose Retry-After says how long (Heed-Synthetic: cooldown or
// limit). Unlike a deadline it does not bound the request once sent. Job
// runners use it to put work aside instead of holding a worker.
func WithMaxWait(ctx context.Context, d time.Duration) context.Context {
	return with(ctx, func(o *requestOptions) { o.maxWait, o.hasMaxWait = max(d, 0), true })
}

// WithPriority returns a context under which a request is of the priority
// class named class, of its upstream's fair shares (FairnessPolicy),
// instead of its default_priority. A class named "1" to "4" that the
// upstream does not have stands for a job's priority: 1 is the first of
// its priorities, 2 the second, and so on, the last standing for the
// rest. A request of a class its upstream does not have fails with an
// error wrapping ErrUnknownPriority; an upstream without fair shares
// ignores it. "" leaves default_priority in force.
func WithPriority(ctx context.Context, class string) context.Context {
	return with(ctx, func(o *requestOptions) { o.priority = class })
}

// ErrUnknownPriority is wrapped by the error of a request whose priority
// class (WithPriority) its upstream's fair shares do not have.
var ErrUnknownPriority = errors.New("heed: unknown priority class")
