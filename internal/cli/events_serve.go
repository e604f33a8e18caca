package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/internal/promserve"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

// controlSocketName is the control plane's default socket in the home.
const controlSocketName = "control.sock"

// eventsServeOptions are the flags of bot-bottle events serve.
type eventsServeOptions struct {
	listen, bottle, metrics string
	anyBottle               bool
}

func newEventsServeCmd(c *cli) *cobra.Command {
	var o eventsServeOptions
	cmd := &cobra.Command{
		Use:   "serve --bottle ID [--listen unix:PATH]",
		Short: "Take standalone sidecars' events into this home's store (the control plane of bot-bottle egress --events)",
		Long: `events serve is the control plane a standalone sidecar delivers to: it listens
on a unix socket (mode 0600; default $BOT_BOTTLE_HOME/` + controlSocketName + `) for
bot-bottle egress --events unix:PATH --spool DIR, and stores what it sends in
$BOT_BOTTLE_HOME/state.db, where bot-bottle events, review, serve and the audit
log read it. It answers a batch only once the store has committed it, so a
sidecar forgets nothing before it is stored; the store keeps one copy of an
event sent twice.

It accepts only what a sidecar produces (denials and reloads), and with
--bottle ID only for that bottle: give each sidecar a socket of its own, so
that it is bound to its bottle by the socket it can reach, not by what it
claims. --any-bottle lifts that, for sidecars you trust alike.

SIGINT or SIGTERM stop it after the batches in flight are stored; a killed
one leaves nothing half-stored (each batch is one transaction) and the
sidecars' spools hold what it did not answer until it runs again.`,
		Example: `  bot-bottle events serve --listen unix:/srv/sc1/control.sock --bottle sc1
  bot-bottle egress --bottle sc1 --events unix:/srv/sc1/control.sock --spool /srv/sc1/spool ...`,
		Args: noArgs("events serve"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return c.serveEvents(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "", "the socket sidecars deliver to, unix:PATH (default unix:$BOT_BOTTLE_HOME/"+controlSocketName+")")
	f.StringVar(&o.bottle, "bottle", "", "accept events of this bottle id only (the sidecar's egress --bottle)")
	f.BoolVar(&o.anyBottle, "any-bottle", false, "accept events of any bottle from whoever reaches the socket")
	f.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics")
	return cmd
}

func (c *cli) serveEvents(ctx context.Context, o eventsServeOptions) error {
	if (o.bottle == "") == !o.anyBottle {
		return &usageError{msg: "events serve needs --bottle ID (one sidecar's bottle) or --any-bottle: say whose events this socket takes"}
	}
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return err
	}
	sock := filepath.Join(home, controlSocketName)
	if o.listen != "" {
		var ok bool
		if sock, ok = strings.CutPrefix(o.listen, events.UnixScheme); !ok || sock == "" {
			return &usageError{msg: fmt.Sprintf("--listen %q: want %s/path/to/control.sock (the control plane is never reached over a network)", o.listen, events.UnixScheme)}
		}
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	reg := prometheus.NewRegistry()
	m := events.NewMetrics(reg)
	dbPath := filepath.Join(home, sqlite.FileName)
	store, err := c.openStore(home, sqlite.Options{Metrics: m, Logger: log})
	if err != nil {
		return err
	}
	defer store.Close()
	l, err := events.ListenControl(sock)
	if err != nil {
		return err
	}
	if o.metrics != "" {
		stopMetrics, err := promserve.Listen(o.metrics, log, reg)
		if err != nil {
			l.Close()
			return err
		}
		defer stopMetrics()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bottle := o.bottle
	if o.anyBottle {
		bottle = "any"
	}
	log.Info("control plane listening", "socket", events.UnixScheme+sock, "bottle", bottle, "store", dbPath)
	err = events.ServeControl(ctx, l, store, events.HandlerOptions{Bottle: o.bottle, Metrics: m, Logger: log}, 30*time.Second)
	if err == nil {
		log.Info("stopped; the batches in flight are stored")
	}
	return err
}
