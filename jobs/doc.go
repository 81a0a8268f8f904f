// Package jobs is heed's mediator for bulk work: a client hands heed an
// HTTP request for a configured upstream as a durable job; heed runs it
// through the Transport when the quota allows, stores the answer and calls
// back.
//
// This file set is the start of issue 6: the job request, its strict
// decoding and its validation (a job may target only a configured upstream,
// with a plain path below its base URL, bounded in size). The engine
// (River on SQLite or PostgreSQL), the HTTP API on heed serve, snoozing on
// cooldowns and signed callbacks are to come.
package jobs
