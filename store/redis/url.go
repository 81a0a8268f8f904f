package redis

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The URL forms Open accepts:
//
//	redis://[user:password@]host:port[/db]        one server
//	rediss://[user:password@]host:port[/db]       one server over TLS
//	redis-cluster://[user:password@]host:port,host:port,...
//	redis-sentinel://[user:password@]host:port,host:port,.../master[/db]
//
// Query parameters set Options: prefix (?prefix=acme:), timeout
// (?timeout=500ms), batch (?batch=10), batch_ahead (?batch_ahead=20ms),
// pipeline (?pipeline=64; 1 turns pipelining off) and settle_delay
// (?settle_delay=5ms).
// Any other parameter is refused, except that redis:// and rediss:// pass
// go-redis's own (dial_timeout, pool_size, ...) through to it.

// ErrURL is returned for a store URL Open cannot use.
var ErrURL = errors.New("redis store: invalid URL")

// ParseURL reads a store URL into go-redis's universal options and the
// store's Options, without connecting. Errors never repeat the URL's
// password.
func ParseURL(raw string) (*goredis.UniversalOptions, Options, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, Options{}, fmt.Errorf("%w: no scheme", ErrURL)
	}
	switch scheme {
	case "redis", "rediss":
		return parseSingle(raw)
	case "redis-cluster", "redis-sentinel":
		return parseMulti(scheme, rest)
	}
	return nil, Options{}, fmt.Errorf("%w: scheme %q: want redis, rediss, redis-cluster or redis-sentinel", ErrURL, scheme)
}

// parseSingle reads redis:// and rediss:// with go-redis's own parser.
func parseSingle(raw string) (*goredis.UniversalOptions, Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Options{}, fmt.Errorf("%w: does not parse", ErrURL)
	}
	q := u.Query()
	opts, err := takeOptions(q)
	if err != nil {
		return nil, Options{}, err
	}
	u.RawQuery = q.Encode()
	o, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, Options{}, fmt.Errorf("%w: %v", ErrURL, redact(err.Error(), raw))
	}
	return &goredis.UniversalOptions{
		Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig,
		PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns, MaxIdleConns: o.MaxIdleConns,
	}, opts, nil
}

// takeOptions reads the store's own query parameters and removes them.
func takeOptions(q url.Values) (Options, error) {
	var o Options
	o.Prefix = q.Get("prefix")
	var errs []error
	dur := func(name string, d *time.Duration) {
		if v := q.Get(name); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil || *d <= 0 {
				errs = append(errs, fmt.Errorf("%w: %s=%q: want a positive duration such as 250ms", ErrURL, name, v))
			}
		}
	}
	dur("timeout", &o.Timeout)
	dur("batch_ahead", &o.BatchAhead)
	dur("settle_delay", &o.SettleDelay)
	count := func(name string, n *int) {
		if v := q.Get(name); v != "" {
			var err error
			if *n, err = strconv.Atoi(v); err != nil || *n < 1 || *n > maxBatch {
				errs = append(errs, fmt.Errorf("%w: %s=%q: want a whole number from 1 to %d", ErrURL, name, v, maxBatch))
			}
		}
	}
	count("batch", &o.Batch)
	count("pipeline", &o.Pipeline)
	for _, k := range []string{"prefix", "timeout", "batch", "batch_ahead", "pipeline", "settle_delay"} {
		q.Del(k)
	}
	return o, errors.Join(errs...)
}

// maxBatch bounds Options.Batch and Options.Pipeline from a URL.
const maxBatch = 10_000

// parseMulti reads the cluster and sentinel forms: several host:port.
func parseMulti(scheme, rest string) (*goredis.UniversalOptions, Options, error) {
	rest, query, _ := strings.Cut(rest, "?")
	hosts, path, _ := strings.Cut(rest, "/")
	o := &goredis.UniversalOptions{}
	if at := strings.LastIndexByte(hosts, '@'); at >= 0 {
		u, err := url.Parse("x://" + hosts[:at+1] + "h")
		if err != nil || u.User == nil {
			return nil, Options{}, fmt.Errorf("%w: user info does not parse", ErrURL)
		}
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
		hosts = hosts[at+1:]
	}
	for a := range strings.SplitSeq(hosts, ",") {
		if _, port, ok := strings.Cut(a, ":"); !ok || port == "" {
			return nil, Options{}, fmt.Errorf("%w: address %q: want host:port", ErrURL, a)
		}
		o.Addrs = append(o.Addrs, a)
	}
	if err := pathParts(scheme, path, o); err != nil {
		return nil, Options{}, err
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, Options{}, fmt.Errorf("%w: query does not parse", ErrURL)
	}
	opts, err := takeOptions(q)
	if err != nil {
		return nil, Options{}, err
	}
	for k := range q {
		return nil, Options{}, fmt.Errorf("%w: unknown parameter %q: %s takes prefix, timeout, batch, batch_ahead, pipeline and settle_delay", ErrURL, k, scheme)
	}
	return o, opts, nil
}

// pathParts reads /master[/db] for sentinel; cluster takes no path.
func pathParts(scheme, path string, o *goredis.UniversalOptions) error {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case scheme == "redis-cluster" && parts[0] != "":
		return fmt.Errorf("%w: redis-cluster takes no path (a cluster has no databases)", ErrURL)
	case scheme == "redis-sentinel" && parts[0] == "":
		return fmt.Errorf("%w: redis-sentinel needs the master's name as its path", ErrURL)
	case scheme == "redis-sentinel":
		o.MasterName = parts[0]
		if len(parts) > 1 {
			db, err := strconv.Atoi(parts[1])
			if err != nil || db < 0 {
				return fmt.Errorf("%w: database %q is not a number", ErrURL, parts[1])
			}
			o.DB = db
		}
	}
	return nil
}

// redact removes the URL's password from a message that may quote it.
func redact(msg, raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "REDACTED")
		}
	}
	return msg
}

// Open connects a Store to the Redis a URL names (see ParseURL); the first
// command connects, Open does not.
func Open(raw string, opts Options) (*Store, error) {
	uo, fromURL, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	opts = opts.or(fromURL)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	uo.DialTimeout, uo.ReadTimeout, uo.WriteTimeout = timeout, timeout, timeout
	// No retries: a request must not wait on a Redis that is down; the
	// Transport goes on without it and the next request asks again.
	uo.MaxRetries = -1
	uo.DialerRetries = 1
	var client goredis.UniversalClient
	if strings.HasPrefix(raw, "redis-cluster://") {
		client = goredis.NewClusterClient(uo.Cluster())
	} else {
		client = goredis.NewUniversalClient(uo)
	}
	return New(client, opts), nil
}

// or returns o with each unset field taken from d.
func (o Options) or(d Options) Options {
	if o.Prefix == "" {
		o.Prefix = d.Prefix
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.Batch == 0 {
		o.Batch = d.Batch
	}
	if o.BatchAhead <= 0 {
		o.BatchAhead = d.BatchAhead
	}
	if o.Pipeline == 0 {
		o.Pipeline = d.Pipeline
	}
	if o.SettleDelay <= 0 {
		o.SettleDelay = d.SettleDelay
	}
	return o
}
