package serve

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/httptoken"
	"github.com/heedhq/heed/jobs"
)

// Config is heed serve's configuration: the library's, whose keys it reads
// at the top level of the same file, and the settings only heed serve
// reads. LoadConfig reads it from a YAML file, so that one file configures
// both a Go program (config.Load reads the library's part and ignores the
// rest) and heed serve. A Config is a plain value: it is safe to share
// between goroutines as long as nobody modifies it.
type Config struct {
	heed.Config `yaml:",inline"`

	// Listen is the address heed serve listens on, host:port; "" means
	// DefaultListen, 127.0.0.1:8700.
	Listen string `yaml:"listen"`

	// AdminToken is the token of heed serve's admin surface: everything
	// under /-/ but /-/healthz needs it, as "Authorization: Bearer <token>"
	// or in the cookie that /-/?token=<token> sets for a browser. It is
	// also taken wherever an API token is. At least 16 bytes; "" means
	// none, and then the admin surface is open (on loopback only: heed serve
	// refuses to listen beyond loopback without one). ${NAME} reads it from
	// the environment variable NAME (see config.Decode).
	AdminToken string `yaml:"admin_token"`

	// APITokens are the tokens of heed serve's clients, each at least 16
	// bytes and distinct, from each other and from the admin token; none
	// means none. Several let clients be given tokens apart, and a token
	// be replaced without a moment where none works.
	//
	// The job API (/v1/jobs...), as soon as any token is configured here
	// or as admin_token, needs one of these or the admin token, as
	// "Authorization: Bearer <token>" or "Heed-Token: <token>".
	//
	// Route mode (/{upstream}/...) and the forward proxy, as soon as
	// api_tokens is set (on loopback too), need one of these or the admin
	// token in the Heed-Token header, since Authorization is the upstream's
	// credential and passes untouched; heed serve removes Heed-Token before
	// sending. The forward proxy also takes the token as the password of
	// "Proxy-Authorization: Basic" (a proxy URL
	// http://heed:<token>@127.0.0.1:8700). Without api_tokens they are
	// open, and heed serve refuses to listen beyond loopback: it would be a
	// relay into every upstream for whoever reaches the port.
	//
	// Tokens are compared in constant time and never appear in an error or
	// a log line; ${NAME} reads one from the environment variable NAME.
	APITokens []string `yaml:"api_tokens"`

	// TenantHeader is the request header that names a request's tenant in
	// heed serve; "" means none (every request has the config's tenant).
	// It must be a valid header name.
	TenantHeader string `yaml:"tenant_header"`

	// Jobs, when set, turns on the job API (/v1/jobs): requests taken as
	// durable jobs and run when the quota allows. No upstream may then be
	// named v1.
	Jobs *jobs.Config `yaml:"jobs"`
}

// LoadConfig reads the YAML configuration file at path; see ParseConfig.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("heed: read config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses heed serve's YAML configuration, as config.Parse does
// the library's (config.Decode says how): name (a file name, "config" when
// empty) starts every error message, followed by the line, and an unknown
// or repeated key anywhere is an error. The Config carries where it was
// read from, so that Validate names the file and line of each problem, and
// config.Stores to open the store it names. ParseConfig neither fills
// defaults nor validates: call Validate.
func ParseConfig(data []byte, name string) (Config, error) {
	var c Config
	src, err := config.Decode(data, name, &c)
	if err != nil {
		return Config{}, err
	}
	c.Source, c.Stores = src, config.Stores{}
	return c, nil
}

// minToken is the shortest admin or API token Validate accepts.
const minToken = 16

// validateAPITokens reports the api_tokens that are too short, or the same
// as another token, without quoting any.
func (c Config) validateAPITokens() []error {
	var errs []error
	for i, tok := range c.APITokens {
		path := fmt.Sprintf("api_tokens[%d]", i)
		switch j := slices.Index(c.APITokens, tok); {
		case len(tok) < minToken:
			errs = append(errs, heed.NewConfigError(path, "%s: at least %d bytes, got %d", path, minToken, len(tok)))
		case j < i:
			errs = append(errs, heed.NewConfigError(path, "%s: the same as api_tokens[%d]; each token must be distinct", path, j))
		case tok == c.AdminToken:
			errs = append(errs, heed.NewConfigError(path, "%s: the same as admin_token; an API token must not open the admin surface", path))
		}
	}
	return errs
}

// Validate reports every problem of c, the library's (heed.Config.Validate)
// and heed serve's own, each naming its field (and, for a Config read from
// a file, the file and line), joined with errors.Join; nil means c can be
// used. No error quotes a token.
func (c Config) Validate() error {
	var errs []error
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
			errs = append(errs, heed.NewConfigError("listen", "listen %q: want host:port, such as 127.0.0.1:8700", c.Listen))
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < minToken {
		errs = append(errs, heed.NewConfigError("admin_token", "admin_token: at least %d bytes, got %d", minToken, len(c.AdminToken)))
	}
	errs = append(errs, c.validateAPITokens()...)
	if c.TenantHeader != "" && !httptoken.Valid(c.TenantHeader) {
		errs = append(errs, heed.NewConfigError("tenant_header", "tenant_header %q is not a valid header name", c.TenantHeader))
	}
	for i, u := range c.Upstreams {
		if s, _, ok := strings.Cut(u.BaseURL, "://"); ok && (strings.EqualFold(s, heed.SchemeGRPC) || strings.EqualFold(s, heed.SchemeGRPCS)) {
			errs = append(errs, heed.NewConfigError(fmt.Sprintf("upstreams[%d].base_url", i),
				"upstreams[%d] %q: base_url: heed serve proxies HTTP; a gRPC upstream is for package heedgrpc's interceptors", i, u.Name))
		}
	}
	if c.Jobs != nil {
		errs = append(errs, c.Jobs.Validate())
		for i, u := range c.Upstreams {
			if u.Name == "v1" {
				errs = append(errs, heed.NewConfigError(fmt.Sprintf("upstreams[%d].name", i),
					"upstreams[%d]: the name v1 is taken by the job API (/v1/jobs) when jobs are on", i))
			}
		}
	}
	return errors.Join(c.Config.Validate(), c.Source.Locate(errors.Join(errs...)))
}
