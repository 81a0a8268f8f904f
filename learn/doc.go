// Package learn infers how an API's quota comes back from what its
// responses say of it, so that heed can pace a quota it was not told as
// closely as one it was.
//
// Quota headers state a quota's size (Limit) and what is left of it
// (Remaining); what they do not state, except in the IETF drafts' w= and
// HubSpot's interval, is the window: how long the whole quota takes to come
// back. Their reset says when the quota next grows, and means a different
// thing under each refill: the end of a fixed window, the time the oldest
// request leaves a sliding window, the next unit of a token bucket (or its
// full refill). Spreading what is left until the reset is always safe and
// often slow: a reset rounded up to the whole second, as GitHub's and
// Anthropic's are, can be most of a second late on a one-second window.
//
// # What is learned
//
// One answer tells a lot: the one of a request that found the quota whole
// (Remaining is Limit-1 after it) has a reset that is exactly one window
// away for a window (fixed or sliding: the window opened, or its first
// request arrived, when that request did) and one unit's refill away for a
// bucket. Taking the reset's rounding into account (a reset in whole
// seconds may be up to a second late), each such answer bounds that
// horizon from both sides, and the bounds of every such answer are
// intersected. Then:
//
//   - A horizon of a second or more (a whole number of seconds when
//     resets are rounded to the second) is a window: Model.Window is the
//     horizon's upper bound, or the largest whole second within the
//     bounds when resets are rounded (windows are whole seconds, minutes
//     or hours in every API the project has seen).
//   - A shorter horizon, with resets finer than a second, is a bucket's
//     unit: Model.Window is Limit units of it, the time the bucket takes
//     to refill from empty.
//   - A horizon shorter than a second with resets rounded to the second
//     tells nothing: the model stays KindUnknown and the caller spreads.
//   - A stated window (Observation.Window) is taken as it is.
//
// Pacing Limit units per Model.Window evenly (a GCRA with a burst of one)
// is safe under every one of these refills: no span of Window then holds
// more than Limit units, which is all a sliding window asks, more than a
// fixed window asks, and what a bucket refills in that time.
//
// # When the model is wrong
//
// A quota shared with callers heed does not see, a bucket whose unit
// happens to be a whole second, or a limit that changes, can make the model
// wrong. The caller refutes it (Quota.Refute) when the API refuses a
// request or reports the quota empty where the model says it cannot be;
// the learner then starts over from the next answer. A changed Limit
// starts it over too.
//
// Nothing here reads a clock or does I/O; a Quota is not safe for
// concurrent use.
package learn
