package heed_test

import (
	"fmt"
	"net/url"

	"github.com/heedhq/heed"
)

func ExampleConfig_Validate() {
	c := heed.Config{Upstreams: []heed.Upstream{
		{Name: "github", BaseURL: "https://api.github.com", Limits: []heed.Limit{{Requests: 5000}}},
	}}
	fmt.Println(c.Validate())
	// Output:
	// heed: upstreams[0] "github": limits[0]: per must be positive
}

func ExampleConfig_Match() {
	c := heed.Config{Upstreams: []heed.Upstream{
		{Name: "openai", BaseURL: "https://api.openai.com/v1"},
		{Name: "openai-files", BaseURL: "https://api.openai.com/v1/files"},
	}}
	for _, raw := range []string{
		"https://api.openai.com/v1/chat/completions",
		"https://API.openai.com:443/v1/files/file-abc",
		"https://api.openai.com/v10/models",
	} {
		u, _ := url.Parse(raw)
		if i, ok := c.Match(u); ok {
			fmt.Println(c.Upstreams[i].Name)
		} else {
			fmt.Println("no upstream: passes through")
		}
	}
	// Output:
	// openai
	// openai-files
	// no upstream: passes through
}
