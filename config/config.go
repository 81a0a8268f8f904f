package config

import (
	"fmt"
	"os"

	"github.com/heedhq/heed"
)

// Load reads the YAML configuration file at path; see Parse.
func Load(path string) (heed.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return heed.Config{}, fmt.Errorf("heed: read config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a YAML configuration of the library (see Decode for the
// syntax); name (a file name, "config" when empty) starts every error
// message, followed by the line. Keys are the yaml tags of heed.Config and
// its parts; an unknown or repeated key is an error, except that the keys
// only heed serve reads (listen, admin_token, api_tokens, tenant_header and jobs, see
// serve.Config) are accepted and skipped, so that one file configures
// both. Every problem found is reported, joined with errors.Join.
//
// The Config it returns carries where it was read from (Config.Source), so
// that Validate names the file and line of each problem, and opens the
// stores a file may name (Config.Stores is Stores), so that heed.New opens
// store: redis://... Parse neither
// fills defaults nor validates: the Config says exactly what the file
// says. Call Validate to check it.
func Parse(data []byte, name string) (heed.Config, error) {
	var f file
	src, err := Decode(data, name, &f)
	if err != nil {
		return heed.Config{}, err
	}
	c := f.Config
	c.Source, c.Stores = src, Stores{}
	return c, nil
}

// file is what Parse reads: the library's Config, and the keys that heed
// serve reads from the same file (serve.Config), which the library
// ignores whatever their values, so that one file configures both. heed
// serve's own reader checks them.
type file struct {
	heed.Config  `yaml:",inline"`
	Listen       ignored `yaml:"listen"`
	AdminToken   ignored `yaml:"admin_token"`
	APITokens    ignored `yaml:"api_tokens"`
	TenantHeader ignored `yaml:"tenant_header"`
	Jobs         ignored `yaml:"jobs"`
}

// ignored is the type of a field whose value Decode skips, whatever it is.
type ignored struct{}
