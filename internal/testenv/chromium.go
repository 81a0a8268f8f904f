package testenv

import "testing"

// chromiumHint says how to get chromium when it is missing.
const chromiumHint = "install it (Debian: apt-get install chromium) or run ./scripts/test, which does"

// Chromium returns the path of the chromium binary for browser tests, such as
// the dashboard's. It skips or fails the test when chromium is not on PATH
// (see the package doc). It starts nothing: the caller starts the browser
// (headless, with a profile of its own) and stops it.
func Chromium(t testing.TB) string {
	t.Helper()
	return lookService(t, "chromium", chromiumHint)
}
