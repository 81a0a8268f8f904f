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
// no attempt spent, no worker held.
//
// For an upstream with fair shares (heed.FairnessPolicy), a job's request
// waits its turn in the class it names ("class": "batch") or, naming
// none, the class its priority (1 to 4) stands for: the worker passes
// heed.WithPriority with "1" to "4", which heed maps onto the upstream's
// priorities in order (1 the first, the last standing for the rest). A
// class is checked on submission against the upstream's classes when the
// engine sees them (Options.Classes; heed serve's does); otherwise, or
// when a reloaded config dropped it, the job fails when it runs, at
// once and for good, with an error naming the class
// (heed.ErrUnknownPriority), never retried.
//
// Handler serves the HTTP API heed serve mounts at /v1/jobs; callbacks are signed (Sign) and retried. Config is
// the jobs: section of heed serve's configuration.
package jobs
