// Package httpcache is the HTTP caching logic of RFC 9111 for a private
// cache, plus the storage of its entries.
//
// heed keeps one private cache per credential: the partition passed to
// [Cache.Lookup], [Cache.Store] and the others is a keyed fingerprint of the
// tenant and the credential, so a response is only ever served to requests
// made with the credential that fetched it. That is why a response to a
// request with Authorization, or one marked private, may be stored here
// (RFC 9111 3.5 and 5.2.2.7 forbid it only to shared caches).
//
// The package is pure where it can be: [ParseCacheControl], [ParseVary],
// [FreshnessLifetime] and [CurrentAge] are functions of their arguments, and
// [Cache] reads the clock only through [Options].Now. Entries live in a
// [Backend]: [Memory] in process, or [Encoded] over any byte store with TTLs
// (heed's Redis store).
//
// Keys are SHA-256 digests over the partition, the method, the normalized
// URL and, for a response with Vary, the request's values of the varied
// fields, so no URL (which may carry an api_key query) and no header value
// appears in a key. A response with Vary is stored under a variant key, and
// the primary key holds a small index entry (see [Entry.IsIndex]) naming the
// varied fields.
//
// We chose not to use github.com/pquerna/cachecontrol: it implements the
// older RFC 7234, ignores the Age field and always applies heuristic
// freshness, where heed wants heuristics off unless asked for.
//
// Departures and choices, where the RFC leaves room:
//   - An invalid max-age (max-age=abc, max-age=-1) is read as max-age=0, so
//     a response carrying it is stale (RFC 9111 4.2.1 encourages that); the
//     same in a request asks for validation. Other directives with bad
//     arguments are ignored.
//   - A directive given twice keeps its first value (RFC 9111 4.2.1).
//   - Set-Cookie is never stored, nor the fields named by a qualified
//     no-cache="..." or private="..." directive.
//   - A stored body is what the client received: when Go's Transport
//     decompressed it, Content-Encoding and Content-Length were already
//     removed, and a 304 never updates Content-Length or Content-Encoding.
package httpcache
