// Package dashboard serves the live dashboard page of heed serve: one card
// per upstream with its request rate against its configured limits, the
// quota its scopes last reported, the cooldowns in force counting down, the
// breaker state, the fleet size, requests in flight and waiting, the
// cache's hit rate and the quota it saved, and a chart of requests, 429s,
// synthetic answers and waits per second over the last five minutes. For
// an upstream with fair shares it lists each priority class with its
// configured share (of the sum of shares), its use (its part of the cost
// admitted over the last minute), its requests waiting and refused, and
// the flows waiting most (their names, tenants or header values, shown as
// text).
//
// The page is static: HTML, CSS and plain JavaScript embedded in the binary
// (no framework, no build step, nothing loaded from another origin). Once a
// second it fetches "state" (a heed.Snapshot as JSON) and "history" (per
// second counts, oldest first) by URLs relative to itself, so it works under
// any path prefix. heed serve mounts it as
//
//	mux.Handle("/-/", http.StripPrefix("/-/", dashboard.Handler()))
//
// next to its own /-/state and /-/history. The page must be loaded from a
// URL that ends in a slash ("/-/", not "/-") for the relative URLs to
// resolve there.
package dashboard
