package cli

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves gatherers at /metrics together with the Go runtime
// (goroutines, memory, GC) and process (open fds, resident memory, CPU)
// collectors, which every served endpoint carries: an operator watching a
// long-running serve or sidecar sees it leak before it falls over. They
// live in a registry of their own, so the same gatherer may be served by
// more than one endpoint without registering a collector twice.
func metricsHandler(gatherers ...prometheus.Gatherer) http.Handler {
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(append(prometheus.Gatherers{runtime}, gatherers...), promhttp.HandlerOpts{})
}
