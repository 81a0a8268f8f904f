// Package scope names the unit of heed's shared state: a tenant, an upstream
// and a keyed fingerprint of the credential a request carries. Cooldowns and
// limits are kept per scope, so two tokens never share a cooldown while
// every worker that uses the same token does.
//
// A Fingerprinter finds the credentials in a request (Authorization and the
// API-key headers of well-known APIs, which CredentialHeaders lists; URL
// user info; configured extra headers and query parameters) and returns an
// HMAC-SHA256 of them under a secret: it identifies the credential without
// revealing it, and without the secret it cannot be checked against a
// guessed token. A credential never appears in plain text in a
// fingerprint, a source name or a Key. A request without a credential
// belongs to its upstream's anonymous scope.
//
// Processes that share a store must share the secret, or the same token
// gets a different fingerprint in each; RandomSecret suits a single process.
package scope
