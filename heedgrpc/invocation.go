package heedgrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heedhq/heed"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// invocation is the base RoundTripper of an Interceptor's Transport: it
// makes one attempt of the gRPC call its request carries (see rpc) and
// answers with the call's status as a response (see response). It never
// sends HTTP.
type invocation struct{}

var _ http.RoundTripper = invocation{}

// errNotACall is the error of a request that carries no gRPC call: one
// of an HTTP upstream sent through an Interceptor's Transport.
var errNotACall = errors.New("heedgrpc: the request carries no gRPC call: send HTTP requests through heed.New's Transport")

// RoundTrip makes one attempt of the call. When the caller gave up (the
// request's context ended, by its deadline or heed's upstream timeout),
// the call's error is an error here, not a response, as an HTTP
// transport's would be; the upstream's timeout is DEADLINE_EXCEEDED to
// the caller.
func (invocation) RoundTrip(req *http.Request) (*http.Response, error) {
	r, ok := req.Context().Value(rpcKey{}).(*rpc)
	if !ok {
		return nil, errNotACall
	}
	ctx := req.Context()
	r.failed = false
	if r.streamer != nil {
		r.stream, r.err = r.streamer(ctx, r.desc, r.cc, r.method, r.opts...)
	} else {
		r.trailer = nil
		r.err = r.invoker(ctx, r.method, r.req, r.reply, r.cc, r.opts...)
	}
	if r.err != nil && ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), heed.ErrUpstreamTimeout) {
			r.err = status.Error(codes.DeadlineExceeded, heed.ErrUpstreamTimeout.Error())
		}
		r.failed = true
		return nil, r.err
	}
	return r.response(req), nil
}

// httpStatus is the HTTP status of each gRPC code, as google/rpc/code.proto
// maps them; codes.Unknown, Internal and DataLoss (and any other) are 500.
var httpStatus = map[codes.Code]int{
	codes.OK:                 http.StatusOK,
	codes.Canceled:           499, // Client Closed Request
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.Aborted:            http.StatusConflict,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Unavailable:        http.StatusServiceUnavailable,
}

// statusOf returns the HTTP status of code.
func statusOf(code codes.Code) int {
	if s, ok := httpStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// response returns the latest attempt's outcome as the Transport reads
// it: the status's HTTP status; the wait it asks for as Retry-After-Ms and
// Retry-After; and, for a per-day quota, a body in Google's error shape
// whose reason (dailyLimitExceeded) package quota reads as an exhausted
// quota. A stream that started answers 200, with a body its wrapper
// closes when it ends.
func (r *rpc) response(req *http.Request) *http.Response {
	resp := &http.Response{Proto: "HTTP/2.0", ProtoMajor: 2, Header: http.Header{}, Body: http.NoBody, Request: req}
	st := status.Convert(r.err)
	resp.StatusCode = statusOf(st.Code())
	resp.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	if r.err == nil {
		if r.stream != nil {
			resp.Body = openStream{}
		}
		return resp
	}
	wait, perDay := r.waitOf(st)
	if wait > 0 {
		resp.Header.Set("Retry-After-Ms", strconv.FormatInt(ceilDiv(wait, time.Millisecond), 10))
		resp.Header.Set("Retry-After", strconv.FormatInt(ceilDiv(wait, time.Second), 10))
	}
	if perDay && st.Code() == codes.ResourceExhausted {
		resp.Header.Set("Content-Type", "application/json")
		resp.Body = io.NopCloser(strings.NewReader(perDayBody))
		resp.ContentLength = int64(len(perDayBody))
	}
	return resp
}

// perDayBody is the body of a per-day quota's response: Google's error
// shape, with the reason Google's APIs give a spent daily quota.
const perDayBody = `{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","errors":[{"reason":"dailyLimitExceeded"}]}}`

// openStream is the body of a stream's response while the stream runs.
type openStream struct{}

func (openStream) Read([]byte) (int, error) { return 0, io.EOF }
func (openStream) Close() error             { return nil }

// waitOf returns the wait st asks for: the longer of its RetryInfo's
// retry_delay and the grpc-retry-pushback-ms trailer; and whether it is a
// per-day quota's (see perDay).
func (r *rpc) waitOf(st *status.Status) (time.Duration, bool) {
	var wait time.Duration
	if v := r.trailer.Get("grpc-retry-pushback-ms"); len(v) > 0 {
		if ms, err := strconv.ParseInt(v[0], 10, 64); err == nil && ms > 0 {
			wait = time.Duration(min(ms, int64(maxWait/time.Millisecond))) * time.Millisecond
		}
	}
	daily := false
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			if dd := d.GetRetryDelay(); dd != nil && dd.IsValid() {
				wait = max(wait, min(dd.AsDuration(), maxWait))
			}
		case *errdetails.QuotaFailure:
			for _, v := range d.GetViolations() {
				daily = daily || perDay(v.GetQuotaId())
			}
		case *errdetails.ErrorInfo:
			daily = daily || perDay(d.GetMetadata()["quota_limit"])
		}
	}
	return wait, daily || r.cooldownMax > 0 && wait > r.cooldownMax
}

// perDay reports whether a quota id names a per-day quota, as Google's do
// ("GenerateRequestsPerDayPerProjectPerModel-FreeTier").
func perDay(quotaID string) bool { return strings.Contains(quotaID, "PerDay") }

// maxWait bounds a wait read from a status, against overflow.
const maxWait = 366 * 24 * time.Hour

// ceilDiv returns d in units of unit, rounded up.
func ceilDiv(d, unit time.Duration) int64 { return int64((d + unit - 1) / unit) }
