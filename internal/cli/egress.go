package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

// egressOptions are the flags of bot-bottle egress.
type egressOptions struct {
	routes, caDir, listen, bottle string
	upstreamProxy, upstreamCA     string
	metrics, events, spool        string
	resolve                       []string
}

func newEgressCmd(c *cli) *cobra.Command {
	var o egressOptions
	cmd := &cobra.Command{
		Use:   "egress --routes FILE --ca DIR --listen ADDR|unix:PATH",
		Short: "Run a bottle's egress proxy standalone (the sidecar)",
		Long: `egress runs one bottle's egress proxy in its own process: the sidecar of a
docker bottle, or a proxy for any program you want to hold to a routes table.

The routes file is what the planner writes (bot-bottle plan, launch): hosts,
paths, methods and token slots, sealed by its last line (a digest of the rest);
seal a file written by hand with bot-bottle routes seal FILE. The values of the slots come from this
process's environment as EGRESS_TOKEN_0, EGRESS_TOKEN_1, ...; the proxy
injects them and refuses any request that carries one. Host values the
bottle must not send (outbound DLP, beside gitleaks' rules) come the same
way, as EGRESS_DLP_SECRET_0, EGRESS_DLP_SECRET_1, ... The CA comes from
bot-bottle ca init DIR. A route whose DLP policy is supervise has no
operator desk in the sidecar: its held requests are refused (dlp_unsupervised).

SIGHUP reloads the routes file; a file that is not whole (its seal is missing
or does not match: cut off mid-write, or edited after sealing), or that does
not parse or check, keeps the old table and is reported as a refused reload. SIGINT or SIGTERM stop accepting and let requests in flight finish.
Events (denials, reloads) are written as JSON lines to --events, or stderr;
with --events unix:PATH they are delivered to the control plane listening on
that socket, and wait in the --spool folder while it is away.
HTTP(S)_PROXY in this process's environment is ignored: use --upstream-proxy.`,
		Example: `  bot-bottle ca init ./ca
  bot-bottle egress --routes routes.yaml --ca ./ca --listen 127.0.0.1:3128
  bot-bottle egress --routes routes.yaml --ca ./ca --listen unix:/run/bottle/proxy.sock --metrics 127.0.0.1:9090`,
		Args: noArgs("egress"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runEgress(ctx, c, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.routes, "routes", "", "routes file to enforce (YAML, as the planner writes it)")
	f.StringVar(&o.caDir, "ca", "", "CA directory made by bot-bottle ca init")
	f.StringVar(&o.listen, "listen", "", "address to serve: host:port, or unix:PATH for a socket only this user can use")
	f.StringVar(&o.bottle, "bottle", "sidecar", "bottle id, for denials, events and metrics")
	f.StringVar(&o.upstreamProxy, "upstream-proxy", "", "send all traffic through this proxy (http:// or https:// URL)")
	f.StringVar(&o.upstreamCA, "upstream-ca", "", "PEM file of extra CA certificates to trust for upstream TLS")
	f.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics")
	f.StringVar(&o.events, "events", "", "append events as JSON lines to this file (default: stderr), or deliver them to the control plane at unix:PATH")
	f.StringVar(&o.spool, "spool", "", "with --events unix:PATH: the folder where events wait until the control plane has them")
	f.StringArrayVar(&o.resolve, "resolve", nil, "HOST:PORT=ADDR:PORT: dial ADDR for HOST:PORT (repeatable; may point at loopback)")
	for _, name := range []string{"routes", "ca", "listen"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runEgress(ctx context.Context, c *cli, o egressOptions) error {
	rf, err := readRoutesFile(o.routes)
	if err != nil {
		return err
	}
	ca, err := egressproxy.LoadCA(o.caDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return withHint(err, "bot-bottle ca init "+o.caDir)
		}
		return err
	}
	cfg, err := proxyFlags{resolve: o.resolve, upstreamCA: o.upstreamCA}.config()
	if err != nil {
		return err
	}
	if o.upstreamProxy != "" {
		if cfg.UpstreamProxy, err = url.Parse(o.upstreamProxy); err != nil {
			return &usageError{msg: fmt.Sprintf("--upstream-proxy: %v", err)}
		}
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	pub, eventsMetrics, closeEvents, err := egressPublisher(c, o, logger)
	if err != nil {
		return err
	}
	defer closeEvents()
	cfg.Bottle, cfg.Routes, cfg.CA, cfg.Publisher, cfg.Logger = o.bottle, rf, ca, pub, logger
	cfg.Tokens = tokensFromEnv(c.env)
	cfg.HostSecrets = dlpSecretsFromEnv(c.env)
	p, err := egressproxy.New(cfg)
	if err != nil {
		return err
	}
	l, err := egressproxy.Listen(o.listen)
	if err != nil {
		return err
	}
	if o.metrics != "" {
		ml, err := net.Listen("tcp", o.metrics)
		if err != nil {
			l.Close()
			return fmt.Errorf("--metrics: %w", err)
		}
		ms := &http.Server{Handler: metricsMux(metricsHandler(p.Gatherer(), eventsMetrics)), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ms.Serve(ml) }()
		defer ms.Close()
		logger.Info("metrics", "addr", "http://"+ml.Addr().String()+"/metrics")
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(l) }()
	logger.Info("egress proxy listening", "addr", l.Addr().String(), "bottle", o.bottle,
		"routes", len(rf.Routes), "digest", p.RoutesDigest())

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-served:
			return fmt.Errorf("egress proxy: %w", err)
		case <-ctx.Done():
			return shutdownEgress(p, served)
		case s := <-sigs:
			if s != syscall.SIGHUP {
				logger.Info("stopping", "signal", s.String())
				return shutdownEgress(p, served)
			}
			next, err := readRoutesFile(o.routes)
			if err != nil {
				p.ReloadError("sighup", err)
				continue
			}
			_ = p.Reload(next, "sighup") // a refusal is logged and published by Reload
		}
	}
}

// shutdownEgress lets requests in flight finish, for at most 30 seconds.
func shutdownEgress(p *egressproxy.Proxy, served <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.Shutdown(ctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

func readRoutesFile(path string) (*schemas.RoutesFile, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routes: %w", err)
	}
	return schemas.ParseRoutes(path, src)
}

// tokensFromEnv collects the token slots (EGRESS_TOKEN_N) of the process
// environment: the one place the sidecar reads credential values.
func tokensFromEnv(env map[string]string) map[string]schemas.Secret {
	out := map[string]schemas.Secret{}
	for k, v := range env {
		if schemas.IsSlotName(k) && v != "" {
			out[k] = schemas.NewSecret(v)
		}
	}
	return out
}
