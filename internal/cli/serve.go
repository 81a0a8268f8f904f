package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/heedhq/heed/serve"
)

// serveOptions are heed serve's flags.
type serveOptions struct {
	config string
	listen string
	drain  time.Duration
}

// runServe runs heed serve: the Transport behind an HTTP endpoint until ctx
// is cancelled (SIGINT, SIGTERM), reloading the config on SIGHUP.
func runServe(ctx context.Context, s streams, args []string) int {
	var opts serveOptions
	fs := newFlagSet("serve")
	fs.StringVar(&opts.config, "config", "", "")
	fs.StringVar(&opts.listen, "listen", "", "")
	fs.DurationVar(&opts.drain, "drain", 30*time.Second, "")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "serve", writeServeHelp, err)
	}
	switch {
	case fs.NArg() > 0:
		return usageError(s, "serve", writeServeHelp, errors.New("takes no arguments, only flags"))
	case opts.config == "":
		return usageError(s, "serve", writeServeHelp, errors.New("--config is required"))
	case opts.drain <= 0:
		return usageError(s, "serve", writeServeHelp, errors.New("--drain must be positive"))
	}
	cfg, err := opts.load()
	if err != nil {
		fmt.Fprintf(s.stderr, "heed serve: %v\n", err)
		return exitUsage
	}
	addr, err := serve.CheckListen(cfg)
	if err != nil {
		fmt.Fprintf(s.stderr, "heed serve: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(s.stderr, nil))
	srv, err := serve.New(cfg, serve.Options{Logger: log, RetireAfter: opts.drain})
	if err != nil { // problems in the file name its file and line
		fmt.Fprintf(s.stderr, "heed serve: %v\n", err)
		return exitUsage
	}
	defer srv.Close()
	// Before "listening": a SIGHUP sent once it is printed must not kill us.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		fmt.Fprintf(s.stderr, "heed serve: %v\n", err)
		return exitFailure
	}
	ln = serve.WrapListener(ln) // net/http's own answers in heed's JSON
	fmt.Fprintf(s.stdout, "heed serve: listening on http://%s (upstreams: %s)\n", ln.Addr(), upstreamNames(cfg))
	return runServer(ctx, s, log, srv, ln, opts, hup)
}

// load reads the config file, with --listen applied.
func (o serveOptions) load() (serve.Config, error) {
	cfg, err := serve.LoadConfig(o.config)
	if err != nil {
		return cfg, err
	}
	if o.listen != "" {
		cfg.Listen = o.listen
	}
	return cfg, nil
}

// runServer serves until ctx is cancelled, reloading on each hup, then
// drains requests in flight for up to --drain.
func runServer(ctx context.Context, s streams, log *slog.Logger, srv *serve.Server, ln net.Listener, opts serveOptions, hup <-chan os.Signal) int {
	// The http.Server takes more header bytes than heed serve's bound, so
	// that heed serve answers 431 with its JSON error; beyond, the wrapped
	// listener rewrites net/http's own 431.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 4 * serve.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	for {
		select {
		case err := <-served:
			fmt.Fprintf(s.stderr, "heed serve: %v\n", err)
			return exitFailure
		case <-hup:
			reload(log, srv, opts)
			continue
		case <-ctx.Done():
		}
		break
	}
	log.Info("heed serve: shutting down; draining requests in flight", "drain", opts.drain)
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.drain)
	defer cancel()
	if err := hs.Shutdown(grace); err != nil {
		hs.Close()
		fmt.Fprintf(s.stderr, "heed serve: requests still in flight after %v were cut off\n", opts.drain)
	}
	<-served
	return exitOK
}

// reload reads the config file again and puts it in force; an invalid one
// is logged and the config in force kept.
func reload(log *slog.Logger, srv *serve.Server, opts serveOptions) {
	cfg, err := opts.load()
	if err == nil {
		err = srv.Reload(cfg)
	}
	if err != nil {
		log.Error("heed serve: SIGHUP: the new config is invalid; keeping the one in force", "error", err.Error())
		return
	}
	log.Info("heed serve: SIGHUP: config reloaded", "upstreams", upstreamNames(cfg))
}

// upstreamNames lists a config's upstreams for a log line.
func upstreamNames(cfg serve.Config) string {
	names := make([]string, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		names[i] = u.Name
	}
	return strings.Join(names, ", ")
}

// writeServeHelp writes heed serve's help.
func writeServeHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed serve --config heed.yaml [--listen host:port] [--drain 30s]

Runs the heed Transport behind an HTTP endpoint, so that clients in any
language get its pacing, cooldowns, retries and circuit breaker, sharing
state with Go programs that use the same store.

  Route mode:  http://127.0.0.1:8700/{upstream}/{path}?{query}
               goes to the upstream's base_url + /{path}?{query}.
               Point an SDK's base URL at it, e.g. OpenAI's
               base_url="http://127.0.0.1:8700/openai/v1".
  Proxy mode:  plain-HTTP requests with an absolute URI (HTTP_PROXY) to a
               configured upstream. CONNECT is refused: use route mode.
  Admin:       /-/ dashboard, /-/state, /-/history, /-/metrics, /-/healthz.
  Jobs:        /v1/jobs, with a jobs section in the config.

Tokens (the config's admin_token and api_tokens, each at least 16 bytes;
"${NAME}" reads one from the environment variable NAME):
  /-/ but healthz  admin_token: Authorization: Bearer <token>, or open
                   /-/?token=<token> in a browser
  /v1/jobs         once any token is set, an api token or admin_token:
                   Authorization: Bearer <token> or Heed-Token: <token>
  route, proxy     once api_tokens is set, an api token or admin_token:
                   Heed-Token: <token> (Authorization goes upstream
                   untouched); the proxy also takes it as the proxy URL's
                   password, http://heed:<token>@127.0.0.1:8700
Listening beyond loopback needs both admin_token and api_tokens.

flags:
  --config FILE   the heed config (the same file as the library's); its
                  listen key (default 127.0.0.1:8700) and tokens apply
  --listen ADDR   overrides the config's listen
  --drain D       how long requests in flight may finish on SIGTERM/SIGINT,
                  and how long a config replaced on SIGHUP keeps serving
                  the requests it had (default 30s)

Signals: SIGTERM/SIGINT stop accepting, let requests in flight finish (up
to --drain) and exit 0. SIGHUP reloads the config file; an invalid new
config is logged and the old one kept.

Exit status: 0 after a clean shutdown, 2 for a bad command line or config
(with the file, line and field), 1 when the server fails.
`)
}
