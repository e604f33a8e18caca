// Package sidecar runs one bottle's egress proxy as a process of its own
// (`bot-bottle egress`): it reads a sealed routes file and a CA from disk,
// the token slots and DLP host secrets from its environment, delivers its
// events to a control plane (or writes them as JSON lines), serves metrics,
// reloads on SIGHUP and drains on SIGINT or SIGTERM. It is egressproxy
// standing alone: it imports nothing nearer the edge than events.
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/promserve"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/prometheus/client_golang/prometheus"
)

// DLPSecretPrefix names the environment variables that carry host secrets
// for the sidecar's DLP: EGRESS_DLP_SECRET_0, _1, ... (any suffix). Like the
// token slots they are values, never names: whoever starts the sidecar
// decides which host values the bottle must not send.
const DLPSecretPrefix = "EGRESS_DLP_SECRET_"

// drainTimeout bounds how long a stopping sidecar lets requests in flight
// finish.
const drainTimeout = 30 * time.Second

// Options configure a sidecar.
type Options struct {
	// RoutesFile is the sealed routes file to enforce; SIGHUP rereads it.
	RoutesFile string
	// CADir holds the bottle CA (bot-bottle ca init).
	CADir string
	// Listen is host:port or unix:PATH.
	Listen string
	// Bottle names the bottle in denials, events and metrics.
	Bottle string
	// Metrics, when set, is where /metrics is served.
	Metrics string
	// Events is a file for JSON lines (empty: Stderr), or unix:PATH of a
	// control plane, in which case Spool is where events wait for it.
	Events, Spool string
	// Proxy carries the upstream settings (resolve, upstream proxy and
	// CA); the rest of it is filled here.
	Proxy egressproxy.Config
	// Env is the process environment: EGRESS_TOKEN_N and
	// EGRESS_DLP_SECRET_N are read from it, and nothing else.
	Env map[string]string
	// Stderr receives the log and, without Events, the events.
	Stderr io.Writer
}

// ErrSpool is returned (wrapped) when Events and Spool do not go together.
var ErrSpool = errors.New("--spool goes with --events unix:PATH, and --events unix:PATH needs --spool")

// Run serves until ctx ends or a stop signal arrives, then drains.
func Run(ctx context.Context, o Options) error {
	if strings.HasPrefix(o.Events, events.UnixScheme) != (o.Spool != "") {
		return fmt.Errorf("sidecar events %q, spool %q: %w", o.Events, o.Spool, ErrSpool)
	}
	rf, err := ReadRoutes(o.RoutesFile)
	if err != nil {
		return err
	}
	ca, err := egressproxy.LoadCA(o.CADir)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(o.Stderr, nil))
	reg := prometheus.NewRegistry()
	pub, closeEvents, err := publisher(o, reg, logger)
	if err != nil {
		return err
	}
	defer closeEvents()
	cfg := o.Proxy
	cfg.Bottle, cfg.Routes, cfg.CA, cfg.Publisher, cfg.Logger = o.Bottle, rf, ca, pub, logger
	cfg.Tokens = TokensFromEnv(o.Env)
	cfg.HostSecrets = DLPSecretsFromEnv(o.Env)
	p, err := egressproxy.New(cfg)
	if err != nil {
		return err
	}
	l, err := egressproxy.Listen(o.Listen)
	if err != nil {
		return err
	}
	if o.Metrics != "" {
		stop, err := promserve.Listen(o.Metrics, logger, p.Gatherer(), reg)
		if err != nil {
			l.Close()
			return err
		}
		defer stop()
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(l) }()
	logger.Info("egress proxy listening", "addr", l.Addr().String(), "bottle", o.Bottle,
		"routes", len(rf.Routes), "digest", p.RoutesDigest())

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-served:
			return fmt.Errorf("egress proxy: %w", err)
		case <-ctx.Done():
			return drain(p, served)
		case s := <-sigs:
			if s != syscall.SIGHUP {
				logger.Info("stopping", "signal", s.String())
				return drain(p, served)
			}
			next, err := ReadRoutes(o.RoutesFile)
			if err != nil {
				p.ReloadError("sighup", err)
				continue
			}
			_ = p.Reload(next, "sighup") // a refusal is logged and published by Reload
		}
	}
}

// drain lets requests in flight finish, for at most drainTimeout.
func drain(p *egressproxy.Proxy, served <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	err := p.Shutdown(ctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// ReadRoutes reads and checks a sealed routes file.
func ReadRoutes(path string) (*schemas.RoutesFile, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routes: %w", err)
	}
	return schemas.ParseRoutes(path, src)
}

// TokensFromEnv collects the token slots (EGRESS_TOKEN_N) of env: the one
// place the sidecar reads credential values.
func TokensFromEnv(env map[string]string) map[string]schemas.Secret {
	out := map[string]schemas.Secret{}
	for k, v := range env {
		if schemas.IsSlotName(k) && v != "" {
			out[k] = schemas.NewSecret(v)
		}
	}
	return out
}

// DLPSecretsFromEnv collects the host secrets (EGRESS_DLP_SECRET_*) of env.
func DLPSecretsFromEnv(env map[string]string) []schemas.Secret {
	var out []schemas.Secret
	for k, v := range env {
		if strings.HasPrefix(k, DLPSecretPrefix) && strings.TrimSpace(v) != "" {
			out = append(out, schemas.NewSecret(v))
		}
	}
	return out
}
