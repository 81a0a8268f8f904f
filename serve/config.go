package serve

import (
	"errors"
	"fmt"
	"net"
	"os"

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

	// AdminToken is the bearer token heed serve's admin surface (/-/)
	// requires; heed serve refuses to listen on an address that is not
	// loopback without one. At least 16 bytes; "" means none. It never
	// appears in an error or a log line.
	AdminToken string `yaml:"admin_token"`

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

// minAdminToken is the shortest admin token Validate accepts.
const minAdminToken = 16

// Validate reports every problem of c, the library's (heed.Config.Validate)
// and heed serve's own, each naming its field (and, for a Config read from
// a file, the file and line), joined with errors.Join; nil means c can be
// used. No error quotes the admin token.
func (c Config) Validate() error {
	var errs []error
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
			errs = append(errs, heed.NewConfigError("listen", "listen %q: want host:port, such as 127.0.0.1:8700", c.Listen))
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < minAdminToken {
		errs = append(errs, heed.NewConfigError("admin_token", "admin_token: at least %d bytes, got %d", minAdminToken, len(c.AdminToken)))
	}
	if c.TenantHeader != "" && !httptoken.Valid(c.TenantHeader) {
		errs = append(errs, heed.NewConfigError("tenant_header", "tenant_header %q is not a valid header name", c.TenantHeader))
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
