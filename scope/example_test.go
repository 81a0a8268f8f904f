package scope_test

import (
	"fmt"
	"net/http"

	"github.com/heedhq/heed/scope"
)

func ExampleFingerprinter() {
	// A fleet shares one secret; a single process may use scope.RandomSecret().
	secret := []byte("a secret of at least 16 bytes")
	f, err := scope.NewFingerprinter(secret, []string{"X-Team-Token"}, []string{"api_key"})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.github.com/user", nil)
	req.Header.Set("Authorization", "Bearer ghp_example")

	fp, source, ok := f.Fingerprint(req)
	key := scope.Key{Tenant: "acme", Upstream: "github", Fingerprint: fp}
	fmt.Println(ok, source)
	fmt.Println(key.Short())

	anon, _ := http.NewRequest(http.MethodGet, "https://api.github.com/zen", nil)
	fp, _, ok = f.Fingerprint(anon)
	fmt.Println(ok, scope.Key{Tenant: "acme", Upstream: "github", Fingerprint: fp})
	// Output:
	// true authorization
	// 416d7ebd
	// false acme/github/anonymous
}
