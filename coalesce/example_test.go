package coalesce_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/heedhq/heed/coalesce"
)

func ExampleGroup_Do() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "the weather is fine")
	}))
	defer api.Close()

	g := coalesce.New(coalesce.Options{MaxLag: 256 << 10})
	// The key names what makes two requests identical; here, the URL.
	resp, shared, err := g.Do(context.Background(), "GET "+api.URL, func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.URL, nil)
		if err != nil {
			return nil, err
		}
		return http.DefaultClient.Do(req)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close() // the flight ends when every caller has closed its body
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, shared, string(body))
	fmt.Println("in flight afterwards:", g.InFlight())
	// Output:
	// 200 false the weather is fine
	// in flight afterwards: 0
}
