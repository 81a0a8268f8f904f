package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that makes missing services a test
// failure instead of a skip. ./scripts/test sets it to "1".
const RequireEnv = "HEED_REQUIRE_SERVICES"

// redisHint says how to get redis-server when it is missing.
const redisHint = "install it (Debian: apt-get install redis-server) or run ./scripts/test, which does"

// redisCLIHint says how to get redis-cli when it is missing.
const redisCLIHint = "install it (Debian: apt-get install redis-tools, which redis-server brings) or run ./scripts/test, which does"

// missingService reports what a test does when the binary bin is not on PATH:
// the message to give, and whether to fail (required is true) or skip.
func missingService(bin, hint string, required bool) (msg string, fail bool) {
	msg = bin + " not found: " + hint
	if required {
		return msg + " (" + RequireEnv + "=1: services are required)", true
	}
	return msg, false
}

// servicesRequired reports whether RequireEnv is set to "1".
func servicesRequired() bool {
	return os.Getenv(RequireEnv) == "1"
}

// lookService returns the path of bin, or fails or skips t when it is missing.
func lookService(t testing.TB, bin, hint string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err == nil {
		return path
	}
	msg, fail := missingService(bin, hint, servicesRequired())
	if fail {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
