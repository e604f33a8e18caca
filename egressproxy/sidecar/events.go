package sidecar

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

// publisher returns where the sidecar's events go and how to close it.
// With Events unix:PATH they are delivered to the control plane listening
// there (events.Forwarder), waiting in Spool while it is away; otherwise
// they are written as JSON lines to the Events file, or Stderr.
func publisher(o Options, reg *prometheus.Registry, logger *slog.Logger) (events.Publisher, func(), error) {
	if strings.HasPrefix(o.Events, events.UnixScheme) {
		f, err := events.NewForwarder(events.ForwarderOptions{
			SpoolDir: o.Spool, Endpoint: o.Events, Metrics: events.NewMetrics(reg), Logger: logger,
		})
		if err != nil {
			return nil, nil, err
		}
		return f, func() {
			// What is not delivered by then stays in the spool for the
			// next start.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = f.Close(ctx)
		}, nil
	}
	w := o.Stderr
	var fh *os.File
	if o.Events != "" {
		var err error
		if fh, err = os.OpenFile(o.Events, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, nil, fmt.Errorf("sidecar events %s: %w", o.Events, err)
		}
		w = io.Writer(fh)
	}
	pub := egressproxy.NewJSONLines(w)
	return pub, func() {
		pub.Close()
		if fh != nil {
			fh.Close()
		}
	}, nil
}
