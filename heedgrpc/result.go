package heedgrpc

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/heedhq/heed"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// RefusalDomain is the ErrorInfo domain of heed's own refusals.
const RefusalDomain = "heed"

// result returns what the caller of the call gets from the Transport's
// answer: heed's own refusal as a status error, or else the latest
// attempt's own error (nil when it succeeded).
func (r *rpc) result(resp *http.Response, err error) error {
	switch {
	case err != nil && r.failed:
		return r.err
	case err != nil:
		return errorStatus(err)
	}
	if resp.Header.Get(heed.SyntheticHeader) != "" {
		if ref, ok := heed.RefusalOf(resp); ok {
			return refusalError(ref)
		}
	}
	return r.err
}

// errorStatus returns the status error of a call the Transport ended
// before an attempt answered: the context's, when it ended; else
// UNAVAILABLE (the store could not be reached, with on_store_error:
// closed).
func errorStatus(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return &statusError{st: status.New(codes.Unavailable, err.Error()), cause: err}
}

// refusalError returns heed's refusal as a status error: RESOURCE_EXHAUSTED
// (UNAVAILABLE for an open circuit) with a RetryInfo of the wait and an
// ErrorInfo of domain RefusalDomain; it unwraps to ref.
func refusalError(ref *heed.Refusal) error {
	code := codes.ResourceExhausted
	if ref.Kind == heed.SyntheticCircuitOpen {
		code = codes.Unavailable
	}
	st := status.New(code, ref.Error())
	info := &errdetails.ErrorInfo{Domain: RefusalDomain, Reason: refusalReason(ref.Kind),
		Metadata: map[string]string{"upstream": ref.Upstream, "scope": ref.Scope}}
	if withDetails, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(ref.Wait)}, info); err == nil {
		st = withDetails
	}
	return &statusError{st: st, cause: ref}
}

// refusalReason is the ErrorInfo reason of a refusal of kind:
// HEED_COOLDOWN, HEED_LIMIT or HEED_CIRCUIT_OPEN.
func refusalReason(kind string) string {
	return "HEED_" + strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))
}

// statusError is a status error that also unwraps to its cause, so that
// status.FromError and errors.Is (heed.ErrCooldown, ...) both work.
type statusError struct {
	st    *status.Status
	cause error
}

func (e *statusError) Error() string { return e.st.Err().Error() }

// GRPCStatus returns the status, for status.FromError and grpc-go.
func (e *statusError) GRPCStatus() *status.Status { return e.st }

// Unwrap returns the cause: a *heed.Refusal, or the Transport's error.
func (e *statusError) Unwrap() error { return e.cause }
