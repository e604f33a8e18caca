// Package promserve serves Prometheus metrics the way every bot-bottle
// endpoint does: the caller's gatherers together with the Go runtime
// (goroutines, memory, GC) and process (open fds, resident memory, CPU)
// collectors, so an operator watching a long-running serve, sidecar or
// control plane sees it leak before it falls over.
package promserve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves gatherers and the runtime collectors. The collectors live
// in a registry of their own, so the same gatherer may be served by more
// than one endpoint without registering a collector twice.
func Handler(gatherers ...prometheus.Gatherer) http.Handler {
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(append(prometheus.Gatherers{runtime}, gatherers...), promhttp.HandlerOpts{})
}

// Listen serves Handler(gatherers...) at http://addr/metrics, and nothing
// else, until the returned stop is called. It says where on log.
func Listen(addr string, log *slog.Logger, gatherers ...prometheus.Gatherer) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(gatherers...))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(l) }()
	log.Info("metrics", "addr", "http://"+l.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
