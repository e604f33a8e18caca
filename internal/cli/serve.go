package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/promserve"
	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/spf13/cobra"
)

// tokenEnv names the environment variable serve --http takes its bearer
// token from when no --token-file is given.
const tokenEnv = "BOT_BOTTLE_TOKEN"

type serveOptions struct {
	httpAddr  string
	tokenFile string
	agentWait time.Duration
	proxy     proxyFlags
}

func newServeCmd(c *cli) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [--http ADDR]",
		Short: "Serve the MCP operator surface: plan, launch and review bottles from an MCP client",
		Long: `serve is bot-bottle's MCP server for people and host agents (Claude Code, Codex):
tools to plan, launch, list, stop and read bottles and to review their egress
(denials, proposals, decisions, live routes), resources for plans, routes and
the review queue, and notifications when a denial or a proposal arrives from
any bottle of this machine, whichever process launched it.

By default it speaks MCP on stdin and stdout (logs go to stderr). With --http
it serves streamable HTTP at /mcp and SSE at /sse (messages to /message) on
ADDR (host:port; a bare :port binds 127.0.0.1), behind a bearer token: from
--token-file, else $BOT_BOTTLE_TOKEN, else the one generated on first run in
$BOT_BOTTLE_HOME/serve.token (mode 0600).

Bottles launched through serve belong to it: they stop when it exits. Each
one's agent can ask for egress from inside (request_egress on its own agent
surface). serve speaks MCP 2025-11-25, 2025-06-18 and 2025-03-26.`,
		Example: `  bot-bottle serve
  bot-bottle serve --http 127.0.0.1:8787
  BOT_BOTTLE_TOKEN=... bot-bottle serve --http 0.0.0.0:8787`,
		Args: noArgs("serve"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serve(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.httpAddr, "http", "", "serve streamable HTTP (/mcp) and SSE (/sse) on ADDR instead of stdio, e.g. :8787 or 127.0.0.1:8787")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token for --http (mode 0600); default: $"+tokenEnv+", else $BOT_BOTTLE_HOME/"+mcp.TokenFileName)
	f.DurationVar(&o.agentWait, "agent-wait", mcp.DefaultAgentWait, "how long an agent's request_egress waits for a decision before it answers pending")
	f.StringArrayVar(&o.proxy.resolve, "resolve", nil, "HOST:PORT=ADDR:PORT for the proxies of bottles launched here (like curl --resolve)")
	f.StringVar(&o.proxy.upstreamCA, "upstream-ca", "", "PEM file of extra CAs the proxies of bottles launched here trust")
	f.DurationVar(&o.proxy.dlpHold, "dlp-hold-timeout", 0, "how long a request held by DLP waits for the operator before it is refused (default 2m)")
	c.addChannelFlags(cmd.Flags(), true)
	return cmd
}

func (c *cli) serve(ctx context.Context, o serveOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := c.openServerRuntime(o.proxy)
	if err != nil {
		return err
	}
	defer rt.Close()
	ctl, err := c.newControl(rt, o.agentWait, log)
	if err != nil {
		return err
	}
	stopAudit := rt.runAudit(ctx, log)
	defer stopAudit()
	defer func() {
		// No deadline of its own: Close waits while bottles keep
		// finishing (a thousand take a while) and gives up, naming what
		// it left for cleanup, when none has for a while.
		sctx := context.Background()
		if err := rt.launcher.Close(sctx); err != nil {
			log.Warn("stop the bottles launched here", "err", err)
		}
		ctl.Close()
	}()
	op, err := mcp.NewOperator(ctx, ctl)
	if err != nil {
		return err
	}
	stopWatch := runUntilStopped(ctx, func(ctx context.Context) {
		if err := op.Watch(ctx); err != nil && ctx.Err() == nil {
			log.Error("notifications stopped", "err", err)
		}
	})
	defer stopWatch()
	if o.httpAddr == "" {
		return op.ServeStdio(ctx, c.stdin, c.stdout, c.stderr)
	}
	return c.serveHTTP(ctx, op, rt, o, log)
}

// newControl builds the MCP glue on a runtime: serve and launch share it,
// so every bottle has its agent surface and its review owner.
func (c *cli) newControl(rt *bottleRuntime, agentWait time.Duration, log *slog.Logger) (*mcp.Control, error) {
	p, err := c.planner()
	if err != nil {
		return nil, err
	}
	return mcp.NewControl(mcp.Config{Version: buildVersion(), Planner: p, DockerRuntime: c.dockerRuntime(), Channel: rt.bus,
		Launcher: rt.launcher, WorkDir: c.workDir, AgentWait: agentWait, Logger: log})
}

// serveHTTP wires serve --http: the token and the address from the
// flags, the metrics; mcp serves the rest.
func (c *cli) serveHTTP(ctx context.Context, op *mcp.Operator, rt *bottleRuntime, o serveOptions, log *slog.Logger) error {
	token, from, generated, err := c.serveToken(o.tokenFile)
	if err != nil {
		return err
	}
	addr, err := loopbackDefault(o.httpAddr)
	if err != nil {
		return err
	}
	return op.ServeHTTP(ctx, mcp.ServeConfig{Addr: addr, Token: token, TokenFrom: from, TokenGenerated: generated,
		Metrics: promserve.Handler(rt.metrics), Banner: c.stderr, Logger: log})
}

// serveToken finds the bearer token and says where it came from (never the
// token itself) and whether it is serve's own, from the home.
func (c *cli) serveToken(file string) (token, from string, generated bool, err error) {
	if file != "" {
		tok, err := mcp.ReadToken(file)
		return tok, "from " + file, false, err
	}
	if v, ok := c.env[tokenEnv]; ok {
		tok, err := mcp.CheckToken(v, "$"+tokenEnv)
		return tok, "from $" + tokenEnv, false, err
	}
	home, err := homeDir(c)
	if err != nil {
		return "", "", false, err
	}
	path := mcp.TokenPath(home)
	tok, created, err := mcp.LoadOrCreateToken(path)
	if created {
		return tok, "generated in " + path, true, err
	}
	return tok, "in " + path, true, err
}

// loopbackDefault binds a bare :port (or port) to 127.0.0.1.
func loopbackDefault(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if _, perr := net.LookupPort("tcp", addr); perr == nil {
			return net.JoinHostPort("127.0.0.1", addr), nil
		}
		return "", &usageError{msg: fmt.Sprintf("--http %q: want HOST:PORT or :PORT", addr)}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// homeDir is the bot-bottle home, created if missing.
func homeDir(c *cli) (string, error) {
	p, err := c.planner()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(p.Home, 0o700); err != nil {
		return "", fmt.Errorf("bot-bottle home: %w", err)
	}
	return p.Home, nil
}
