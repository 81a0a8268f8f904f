package serve_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/serve"
)

// A Server is an http.Handler: route mode sends /{upstream}/{path} to the
// upstream through heed.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream got %s %s", r.Method, r.URL.RequestURI())
	}))
	defer api.Close()

	srv, err := serve.New(serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "github", BaseURL: api.URL}}}}, serve.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	sidecar := httptest.NewServer(srv)
	defer sidecar.Close()

	resp, err := http.Get(sidecar.URL + "/github/repos/o/r?per_page=10")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: upstream got GET /repos/o/r?per_page=10
}
