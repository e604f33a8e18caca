package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bot-bottle/bot-bottle/review/web"
)

// ServeConfig is `bot-bottle serve --http`: where to listen and what else
// to serve beside the operator surface.
type ServeConfig struct {
	// Addr is host:port to listen on.
	Addr string
	// Token guards everything but the page's login.
	Token string
	// TokenFrom says where the token came from, for the banner (never the
	// token itself). TokenGenerated says the token is serve's own (made
	// in the home, now or by an earlier serve), not one the user handed
	// it: then the banner prints a login URL with it, for the person who
	// started serve; a token the user chose is never echoed.
	TokenFrom      string
	TokenGenerated bool
	// Metrics, when set, is served at /metrics behind the token.
	Metrics http.Handler
	// Banner receives the lines that say where everything is (stderr).
	Banner io.Writer
	Logger *slog.Logger
}

// ServeHTTP serves the operator surface over HTTP until ctx ends: MCP
// (streamable HTTP at /mcp, SSE at /sse), the review page at /review (/
// sends a browser there), and /metrics, all on one listener behind the
// token.
func (o *Operator) ServeHTTP(ctx context.Context, cfg ServeConfig) error {
	log := cfg.Logger
	if log == nil {
		log = o.ctl.log
	}
	h, err := o.HTTPHandler(cfg.Token)
	if err != nil {
		return err
	}
	// The page checks the token itself: a browser logs in once
	// (/review/login?token=...) and then sends a cookie, not a header.
	page := web.Handler(web.Config{Desk: o.ctl.Desk(), Store: o.ctl.Store(), Token: cfg.Token, Logger: log,
		DecideWait: o.ctl.cfg.DecideWait})
	h.HandlePublic("/review", page)
	h.HandlePublic("/review/", page)
	h.HandlePublic("GET /{$}", http.RedirectHandler("/review", http.StatusSeeOther))
	if cfg.Metrics != nil {
		h.Handle("/metrics", cfg.Metrics)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve --http: %w", err)
	}
	banner := cfg.Banner
	if banner == nil {
		banner = io.Discard
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(banner, "bot-bottle serve: warning: %s is reachable from other machines; the bearer token is all that guards it\n", ln.Addr())
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(banner, "bot-bottle serve: MCP at %s%s (streamable HTTP) and %s%s (SSE); bearer token %s\n",
		base, StreamablePath, base, SSEPath, cfg.TokenFrom)
	if cfg.TokenGenerated {
		fmt.Fprintf(banner, "bot-bottle serve: review desk: %s/review/login?token=%s (this link logs in; keep it to yourself)\n", base, cfg.Token)
	} else {
		fmt.Fprintf(banner, "bot-bottle serve: review desk: %s/review/login?token=<the bearer token>\n", base)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve --http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = h.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve --http: shut down: %w", err)
	}
	return nil
}
