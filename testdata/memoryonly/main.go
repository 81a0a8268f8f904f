// Command memoryonly is the smallest program that uses heed as a library:
// a Config built in code, the memory store and one Transport. The root
// package's dependency test lists what it links.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/heedhq/heed"
)

func main() {
	t, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{
		Name:    "github",
		BaseURL: "https://api.github.com",
		Limits:  []heed.Limit{{Requests: 5000, Per: time.Hour}},
	}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer t.Close()
	client := &http.Client{Transport: t}
	_ = client
}
