package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/bot-bottle/bot-bottle/egressproxy/sidecar"
	"github.com/bot-bottle/bot-bottle/events"
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
	switch unix := strings.HasPrefix(o.events, events.UnixScheme); {
	case unix && o.spool == "":
		return &usageError{msg: "egress: --events " + o.events + " needs --spool DIR: where events wait until the control plane has them"}
	case !unix && o.spool != "":
		return &usageError{msg: "egress: --spool is for --events unix:PATH"}
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
	err = sidecar.Run(ctx, sidecar.Options{
		RoutesFile: o.routes, CADir: o.caDir, Listen: o.listen, Bottle: o.bottle,
		Metrics: o.metrics, Events: o.events, Spool: o.spool,
		Proxy: cfg, Env: c.env, Stderr: c.stderr,
	})
	if errors.Is(err, fs.ErrNotExist) && strings.Contains(err.Error(), o.caDir) {
		return withHint(err, "bot-bottle ca init "+o.caDir)
	}
	return err
}
