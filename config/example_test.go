package config_test

import (
	"fmt"

	"github.com/heedhq/heed/config"
)

func ExampleParse() {
	_, err := config.Parse([]byte(`upstreams:
  - name: github
    base_url: https://api.github.com
    limts:
      - {requests: 5000, per: 1h}
`), "heed.yaml")
	fmt.Println(err)
	// Output:
	// heed: heed.yaml:4: unknown key "limts" in upstreams[0] (did you mean "limits"?)
}
