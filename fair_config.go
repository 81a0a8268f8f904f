package heed

import (
	"net/http"
	"strings"

	"github.com/heedhq/heed/scope"
)

// FairnessPolicy shares one quota between kinds of work and the tenants
// doing it. While a scope's limits are contended, each priority class
// with requests waiting gets capacity in proportion to its Share, and
// within a class each flow (a tenant, by default) an equal part, every
// request counted at its cost (a request priced at 1,800 tokens counts
// 1,800). Capacity nobody waits for goes to whoever does: a lone tenant
// gets the whole quota. With a shared store the shares hold across the
// fleet (see store.Turn); package fair says how, and how far from the
// ideal they can be.
type FairnessPolicy struct {
	// By says what a flow is: "tenant" (the default; see WithTenant and
	// heed serve's tenant_header), "credential" (each credential one
	// flow: the classes alone divide its quota), or "header:Name" (the
	// value of the request's header Name, such as header:X-Customer; a
	// request without it is of the flow "").
	By string `yaml:"by"`

	// Priorities are the classes, each with its share; none means one
	// class, "default", of share 1 (flows alone share the quota).
	Priorities []Priority `yaml:"priorities"`

	// DefaultPriority is the class of a request that names none (see
	// WithPriority, heed serve's Heed-Priority header); "" means the first
	// of Priorities.
	DefaultPriority string `yaml:"default_priority"`

	// MaxQueue bounds the requests one flow may have queued in each
	// scope's waiting room, besides the one asking the store; one more is
	// answered at once with a synthetic limit
	// answer, so that a tenant that floods its queue only delays itself.
	// 0 means 1000.
	MaxQueue int `yaml:"max_queue"`
}

// Priority is one priority class of a FairnessPolicy.
type Priority struct {
	// Name names the class in requests and metrics:
	// [a-z0-9][a-z0-9_.-]*, at most 32 bytes.
	Name string `yaml:"name"`
	// Share is the class's weight, 1 to 1000: classes of shares 3 and 1
	// get three quarters and a quarter of the capacity while both want it.
	Share int `yaml:"share"`
}

// MaxPriorityLen bounds a priority class's name (Priority.Name).
const MaxPriorityLen = maxClassLen

// ValidPriority reports whether s can name a priority class, as
// Priority.Name must: it matches [a-z0-9][a-z0-9_.-]* and is at most
// MaxPriorityLen bytes. heed serve checks its Heed-Priority header and
// package jobs a job's class with it before either reaches WithPriority.
func ValidPriority(s string) bool { return len(s) <= maxClassLen && validName(s, false) }

// The fairness flows, as FairnessPolicy.By names them.
const (
	FairByTenant     = "tenant"
	FairByCredential = "credential"
	// FairByHeader is the prefix of a By that names a header.
	FairByHeader = "header:"
)

// Fairness bounds and defaults.
const (
	defaultFairClass    = "default"
	defaultFairMaxQueue = 1000
	maxFairShare        = 1000
	maxClassLen         = 32
	maxFairClasses      = 16
)

// withDefaults returns p with its defaults filled in, its own copy of its
// slice.
func (p FairnessPolicy) withDefaults() FairnessPolicy {
	if p.By == "" {
		p.By = FairByTenant
	}
	if len(p.Priorities) == 0 {
		p.Priorities = []Priority{{Name: defaultFairClass, Share: 1}}
	} else {
		p.Priorities = append([]Priority(nil), p.Priorities...)
	}
	if p.DefaultPriority == "" {
		p.DefaultPriority = p.Priorities[0].Name
	}
	if p.MaxQueue == 0 {
		p.MaxQueue = defaultFairMaxQueue
	}
	return p
}

// header returns the header a By of "header:Name" names, canonical, or "".
func (p FairnessPolicy) header() string {
	name, ok := strings.CutPrefix(p.By, FairByHeader)
	if !ok {
		return ""
	}
	return http.CanonicalHeaderKey(strings.TrimSpace(name))
}

// class returns the priority named name, and whether there is one.
func (p FairnessPolicy) class(name string) (Priority, bool) {
	for _, c := range p.Priorities {
		if c.Name == name {
			return c, true
		}
	}
	return Priority{}, false
}

// checkFairness checks an upstream's fairness section (with its defaults
// filled in).
func checkFairness(p *problems, at loc, u Upstream) {
	f := u.Fairness
	if f == nil {
		return
	}
	at = at.field("fairness")
	switch h := f.header(); {
	case f.By == FairByTenant, f.By == FairByCredential:
	case strings.HasPrefix(f.By, FairByHeader) && h == "":
		p.addf("%s %q: name the header, as in header:X-Customer", at.field("by"), f.By)
	case strings.HasPrefix(f.By, FairByHeader) && !validHeaderName(h):
		p.addf("%s %q: not a header name", at.field("by"), f.By)
	case strings.HasPrefix(f.By, FairByHeader) && carriesCredential(u, h):
		p.addf("%s %q: %s carries a credential; a flow's name is shown on the dashboard", at.field("by"), f.By, h)
	case !strings.HasPrefix(f.By, FairByHeader):
		p.addf("%s %q: want tenant, credential or header:Name", at.field("by"), f.By)
	}
	if len(f.Priorities) > maxFairClasses {
		p.addf("%s: %d classes, at most %d", at.field("priorities"), len(f.Priorities), maxFairClasses)
	}
	seen := map[string]bool{}
	for i, c := range f.Priorities {
		ci := at.field("priorities").index(i)
		switch {
		case !validName(c.Name, false) || len(c.Name) > maxClassLen:
			p.addf("%s: name %q must match [a-z0-9][a-z0-9_.-]* within %d bytes", ci, c.Name, maxClassLen)
		case seen[c.Name]:
			p.addf("%s: name %q given twice", ci, c.Name)
		}
		seen[c.Name] = true
		if c.Share < 1 || c.Share > maxFairShare {
			p.addf("%s %d: want 1 to %d", ci.field("share"), c.Share, maxFairShare)
		}
	}
	if _, ok := f.class(f.DefaultPriority); !ok {
		p.addf("%s %q is none of the priorities", at.field("default_priority"), f.DefaultPriority)
	}
	if f.MaxQueue < 0 {
		p.addf("%s must not be negative", at.field("max_queue"))
	}
}

// validHeaderName reports whether s is an HTTP field name (a token).
func validHeaderName(s string) bool {
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

// carriesCredential reports whether requests of u may carry a credential
// in the header h (canonical): one heed knows, one the upstream's
// credentials section names, or a cookie.
func carriesCredential(u Upstream, h string) bool {
	all := append(scope.CredentialHeaders(), "Cookie", "Proxy-Authorization")
	for _, c := range append(all, u.Credentials.Headers...) {
		if strings.EqualFold(c, h) {
			return true
		}
	}
	return false
}
