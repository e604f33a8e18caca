package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/prometheus/client_golang/prometheus"
)

// egressPublisher returns where the sidecar's events go, the registry of
// its metrics, and how to close it. With --events unix:PATH they are
// delivered to the control plane listening there (events.Forwarder),
// waiting in --spool while it is away; otherwise they are written as JSON
// lines to the --events file, or stderr.
func egressPublisher(c *cli, o egressOptions, logger *slog.Logger) (events.Publisher, *prometheus.Registry, func(), error) {
	reg := prometheus.NewRegistry()
	if strings.HasPrefix(o.events, events.UnixScheme) {
		if o.spool == "" {
			return nil, nil, nil, &usageError{msg: "--events " + o.events + " needs --spool DIR: where events wait until the control plane has them"}
		}
		f, err := events.NewForwarder(events.ForwarderOptions{
			SpoolDir: o.spool, Endpoint: o.events, Metrics: events.NewMetrics(reg), Logger: logger,
		})
		if err != nil {
			return nil, nil, nil, err
		}
		return f, reg, func() {
			// What is not delivered by then stays in the spool for the
			// next start.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = f.Close(ctx)
		}, nil
	}
	if o.spool != "" {
		return nil, nil, nil, &usageError{msg: "--spool is for --events unix:PATH"}
	}
	w := io.Writer(c.stderr)
	var fh *os.File
	if o.events != "" {
		var err error
		if fh, err = os.OpenFile(o.events, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, nil, nil, fmt.Errorf("--events: %w", err)
		}
		w = fh
	}
	pub := egressproxy.NewJSONLines(w)
	return pub, reg, func() {
		pub.Close()
		if fh != nil {
			fh.Close()
		}
	}, nil
}
