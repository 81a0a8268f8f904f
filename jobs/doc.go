// Package jobs is heed's mediator for bulk work: a client hands heed an
// HTTP request for a configured upstream as a durable job; heed runs it
// through the Transport when the quota allows, stores the answer and calls
// back.
//
// The Engine keeps jobs in River, on SQLite (one machine) or PostgreSQL
// (several heed serve processes working one queue). A job may target only
// a configured upstream, with a plain path below its base URL, bounded in
// size (request.go). Its credentials (the headers scope.CredentialHeaders
// lists, and the headers and query parameters its upstream's credentials
// section names) are sealed with AES-256-GCM before it is stored and
// opened only by its worker (seal.go); without an encryption key, a job
// carrying one is refused. Its worker sends it through the Transport with
// heed.WithMaxWait, so that a job whose credential is cooling down, whose
// pace has no room soon enough, or that the API itself refuses for a rate
// limit is put aside (snoozed) for exactly the wait heed.RefusalOf reports:
// no attempt spent, no worker held. Handler serves the HTTP API heed serve
// mounts at /v1/jobs; callbacks are signed (Sign) and retried. Config is
// the jobs: section of heed serve's configuration.
package jobs
