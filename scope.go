package heed

import (
	"net/http"
	"time"
)

// scopeOf returns the state of req's scope: the upstream and the keyed
// fingerprint of every credential req carries (package scope); the
// anonymous scope when it carries none. The tenant is not part of it: the
// quota, its cooldowns and what heed learns of it are the credential's,
// whoever uses it (per-tenant limits are keyed apart, see limitsFor).
func (u *upstream) scopeOf(req *http.Request, now time.Time) *scopeState {
	sum, _ := u.fp.Sum(req)
	return u.scopes.get(sum, now)
}
