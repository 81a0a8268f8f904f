package readme

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/jobs"
)

// callbackCase is a callback as a receiver gets it, and whether the
// README's verify must accept it at now.
type callbackCase struct {
	name         string
	secret, body []byte
	header       string
	now          time.Time
	want         bool
}

// callbackCases are callbacks signed as heed's jobs sign them (jobs.Sign)
// and the verdict the README promises on each at now: a signature within
// five minutes of the receiver's clock over the very body, with the
// receiver's secret, passes; a tampered body, another secret, a timestamp
// too far away (a replay) or a malformed header does not.
func callbackCases(now time.Time) []callbackCase {
	secret := []byte("callback-secret-of-the-readme-test")
	body := []byte(`{"id":1,"state":"succeeded","response":{"status":200}}`)
	tampered := []byte(`{"id":1,"state":"succeeded","response":{"status":201}}`)
	signed := jobs.Sign(secret, now, body)
	return []callbackCase{
		{"Fresh", secret, body, signed, now, true},
		{"AMinuteOld", secret, body, jobs.Sign(secret, now.Add(-time.Minute), body), now, true},
		{"TamperedBody", secret, tampered, signed, now, false},
		{"OtherSecret", []byte("another-callback-secret"), body, signed, now, false},
		{"TenMinutesOld", secret, body, jobs.Sign(secret, now.Add(-10*time.Minute), body), now, false},
		{"TenMinutesAhead", secret, body, jobs.Sign(secret, now.Add(10*time.Minute), body), now, false},
		{"NoTimestamp", secret, body, signed[strings.Index(signed, "v1="):], now, false},
		{"Empty", secret, body, "", now, false},
	}
}

// checkVerifier runs verify, the README's verify function of block b, on
// every callback case.
func checkVerifier(t *testing.T, b block, verify func(callbackCase) (bool, error)) {
	t.Helper()
	t.Run(fmt.Sprintf("VerifyLine%d", b.Line), func(t *testing.T) {
		for _, c := range callbackCases(time.Now()) {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				got, err := verify(c)
				if err != nil {
					t.Fatalf("%s: %v", b, err)
				}
				if got != c.want {
					t.Errorf("%s: verify of %s (%s): got %v, want %v", b, c.name, c.header, got, c.want)
				}
			})
		}
	})
}

// runVerifier runs cmd, a program that prints verify's verdict, and
// reads it: true or false, in Go's or Python's spelling.
func runVerifier(cmd *exec.Cmd) (bool, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Errorf("%s: %v\n%s", cmd.Args[0], err, stderr.Bytes())
	}
	ok, err := strconv.ParseBool(strings.TrimSpace(string(out)))
	if err != nil {
		return false, fmt.Errorf("%s printed %q, want true or false", cmd.Args[0], out)
	}
	return ok, nil
}
