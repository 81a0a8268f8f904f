package heed_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// A client that shares one credential among many workers: once the API
// says wait, every request of that credential gets the answer at once
// (on_limit: fail), without reaching the API, until the wait is over.
func Example() {
	api, _ := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub})
	srv := httptest.NewServer(api)
	defer srv.Close()

	t, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{
		Name:    "github",
		BaseURL: srv.URL,
		OnLimit: heed.OnLimitFail,
	}}})
	if err != nil {
		panic(err)
	}
	defer t.Close()
	client := &http.Client{Transport: t}

	_ = api.Force(mockapi.Force{Status: 429, RetryAfter: time.Minute})
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/repos/o/r", nil)
		req.Header.Set("Authorization", "Bearer ghp_example")
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		from := "the API"
		if kind := resp.Header.Get(heed.SyntheticHeader); kind != "" {
			from = "heed (" + kind + ")"
		}
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), from)
	}
	fmt.Println("requests the API saw:", api.Stats().Total.Requests)
	// Output:
	// 429 60 the API
	// 429 60 heed (cooldown)
	// 429 60 heed (cooldown)
	// requests the API saw: 1
}

// Pacing under a configured limit: no window of one second sees more than
// two requests, whatever the callers do.
func ExampleNew() {
	api, _ := mockapi.New(mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: 2, Per: time.Second}})
	srv := httptest.NewServer(api)
	defer srv.Close()

	t, _ := heed.New(heed.Config{Upstreams: []heed.Upstream{{
		Name:    "api",
		BaseURL: srv.URL,
		Limits:  []heed.Limit{{Requests: 2, Per: time.Second}},
	}}})
	defer t.Close()
	client := &http.Client{Transport: t}
	for range 4 {
		resp, err := client.Get(srv.URL + "/items")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	st := api.Stats().Total
	fmt.Println("accepted", st.Accepted, "refused", st.Limited)
	// Output: accepted 4 refused 0
}
