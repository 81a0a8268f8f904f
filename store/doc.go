// Package store defines where heed keeps the state that the requests of a
// scope share: the state of each limit, the concurrency leases, the cooldown
// and the paces learned from an API's quota headers.
//
// A scope is an opaque key (tenant, upstream and credential fingerprint,
// built by package scope); the store never sees a credential. Every
// operation on a scope is atomic, so that many goroutines, processes and
// machines using one store behave as one careful client.
//
// Implementations: store/memory (the embedded default) and, for fleets, a
// Redis store. Each must pass the contract suite in store/storetest.
package store
