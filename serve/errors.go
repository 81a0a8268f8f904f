package serve

import (
	"encoding/json"
	"net/http"
)

// The error codes of the JSON errors heed serve writes itself. They are
// stable: clients may branch on them.
const (
	// CodeUnknownUpstream: route mode named no configured upstream (404).
	CodeUnknownUpstream = "unknown_upstream"
	// CodeNotAnUpstream: a forward-proxy request for a URL no upstream
	// covers (403): heed serve is not an open proxy.
	CodeNotAnUpstream = "not_an_upstream"
	// CodeConnectNotSupported: a CONNECT request (405).
	CodeConnectNotSupported = "connect_not_supported"
	// CodeUpstreamUnreachable: the upstream could not be reached or broke
	// the connection (502).
	CodeUpstreamUnreachable = "upstream_unreachable"
	// CodeUpstreamTimeout: the upstream did not answer within its timeout
	// (504).
	CodeUpstreamTimeout = "upstream_timeout"
	// CodeStoreUnavailable: the shared store is down and on_store_error is
	// closed (503).
	CodeStoreUnavailable = "store_unavailable"
	// CodeInvalidTenant: the tenant_header names no valid tenant (400).
	CodeInvalidTenant = "invalid_tenant"
	// CodeUnauthorized: the admin surface needs the admin token (401).
	CodeUnauthorized = "unauthorized"
	// CodeNotFound: no such admin page (404).
	CodeNotFound = "not_found"
)

// apiError is the body of every error heed serve writes itself.
type apiError struct {
	Error     string   `json:"error"`
	Message   string   `json:"message"`
	Upstreams []string `json:"upstreams,omitempty"`
}

// writeError writes a JSON error with status.
func writeError(w http.ResponseWriter, status int, e apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
