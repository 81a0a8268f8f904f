package jobs_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heedhq/heed/jobs"
)

// verify is the receiver's check of a callback, as the README shows it.
func verify(secret, body []byte, header string, now time.Time) bool {
	ts, mac, ok := strings.Cut(strings.TrimPrefix(header, "t="), ",v1=")
	t, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || now.Sub(time.Unix(t, 0)).Abs() > 5*time.Minute {
		return false // malformed, or too old: a replay
	}
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts + "."))
	h.Write(body)
	return hmac.Equal([]byte(mac), []byte(hex.EncodeToString(h.Sum(nil))))
}

// A callback's Heed-Signature, and how a receiver verifies it.
func ExampleSign() {
	secret := []byte("a callback secret of 16+ bytes")
	body := []byte(`{"id":1,"state":"succeeded"}`)
	at := time.Unix(1795400000, 0)
	sig := jobs.Sign(secret, at, body)
	fmt.Println(sig[:13])
	fmt.Println(verify(secret, body, sig, at.Add(time.Second)))
	fmt.Println(verify(secret, []byte(`{"id":2}`), sig, at))  // another body
	fmt.Println(verify(secret, body, sig, at.Add(time.Hour))) // a replay
	// Output:
	// t=1795400000,
	// true
	// false
	// false
}
