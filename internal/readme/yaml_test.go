package readme

import (
	"testing"

	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/serve"
)

// TestREADMEYAML: every yaml block of README.md is a configuration that
// both readers of the file accept and that validates: config.Parse (the
// library's keys; heed.Config.Validate) and serve.ParseConfig (heed
// serve's, which rejects a key that neither knows; serve.Config.Validate).
// A fragment, such as the Redis store block, is checked as a file of its
// own: with no upstreams, a configuration is valid as long as what it says
// is. A block annotated <!-- snippet: library --> is the library's only
// (a gRPC upstream, which heed serve refuses): serve's reader is not asked.
func TestREADMEYAML(t *testing.T) {
	t.Parallel()
	for _, b := range blocksIn(t, "yaml") {
		// Padded, the readers' line numbers are README.md's.
		data := []byte(b.padded())
		c, err := config.Parse(data, readmeName)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			t.Errorf("%s: config.Parse and Validate: %v", b, err)
		}
		if b.Wrap == "library" {
			continue
		}
		sc, err := serve.ParseConfig(data, readmeName)
		if err == nil {
			err = sc.Validate()
		}
		if err != nil {
			t.Errorf("%s: serve.ParseConfig and Validate: %v", b, err)
		}
	}
}
