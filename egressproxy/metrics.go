package egressproxy

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a proxy's Prometheus collectors, labelled with its bottle so
// that the proxies of one process can share a registry.
type metrics struct {
	reg        prometheus.Registerer
	gatherer   prometheus.Gatherer // the proxy's own registry, or nil when the caller gave one
	collectors []prometheus.Collector

	requests  *prometheus.CounterVec
	byKind    map[string]prometheus.Counter
	decisions [numReasons]prometheus.Counter
	upstream  prometheus.Histogram
	upErrors  prometheus.Counter
	reflected prometheus.Counter
	held      prometheus.Counter
	redacted  prometheus.Counter
	reloads   *prometheus.CounterVec
}

// Request kinds of the requests metric.
const (
	kindLabelConnect = "connect" // a CONNECT
	kindLabelHTTP    = "http"    // a plain-http proxy request
	kindLabelMITM    = "mitm"    // a request inside a decrypted tunnel
)

func newMetrics(reg prometheus.Registerer, bottle string, openConns func() float64) (*metrics, error) {
	m := &metrics{reg: reg}
	if reg == nil {
		r := prometheus.NewRegistry()
		m.reg, m.gatherer = r, r
	}
	labels := prometheus.Labels{"bottle": bottle}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bot_bottle_egress_requests_total", Help: "Requests the egress proxy received, by kind (connect, http, mitm).",
		ConstLabels: labels}, []string{"kind"})
	m.byKind = map[string]prometheus.Counter{}
	for _, k := range []string{kindLabelConnect, kindLabelHTTP, kindLabelMITM} {
		m.byKind[k] = m.requests.WithLabelValues(k)
	}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bot_bottle_egress_decisions_total", Help: "Egress decisions by reason (allowed or why refused).",
		ConstLabels: labels}, []string{"reason"})
	for r := Reason(0); r < numReasons; r++ {
		m.decisions[r] = decisions.WithLabelValues(r.Label())
	}
	m.upstream = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "bot_bottle_egress_upstream_seconds", Help: "Time from sending a request upstream to its response head.",
		ConstLabels: labels, Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}})
	m.upErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bot_bottle_egress_upstream_errors_total", Help: "Requests answered 502 because the upstream failed.",
		ConstLabels: labels})
	m.reflected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bot_bottle_egress_credential_echoes_total", Help: "Responses in which the upstream echoed an injected credential (masked before the agent saw it).",
		ConstLabels: labels})
	m.held = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bot_bottle_egress_dlp_held_total", Help: "Requests held for the operator because they carry a secret (route policy supervise).",
		ConstLabels: labels})
	m.redacted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bot_bottle_egress_dlp_redacted_total", Help: "Requests sent with the secrets they carried redacted (route policy redact).",
		ConstLabels: labels})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bot_bottle_egress_reloads_total", Help: "Routes table reloads by result (ok, error).",
		ConstLabels: labels}, []string{"result"})
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bot_bottle_egress_open_connections", Help: "Client connections open now.",
		ConstLabels: labels}, openConns)
	m.collectors = []prometheus.Collector{m.requests, decisions, m.upstream, m.upErrors, m.reflected, m.held, m.redacted, m.reloads, conns}
	for i, c := range m.collectors {
		if err := m.reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				m.reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("register metrics for bottle %q: already registered (shut the old proxy down first): %w", bottle, err)
			}
			return nil, fmt.Errorf("register metrics for bottle %q: %w", bottle, err)
		}
	}
	return m, nil
}

// request counts a request of kind; byKind is read-only after newMetrics.
func (m *metrics) request(kind string)          { m.byKind[kind].Inc() }
func (m *metrics) decision(r Reason)            { m.decisions[r].Inc() }
func (m *metrics) upstreamTook(d time.Duration) { m.upstream.Observe(d.Seconds()) }

func (m *metrics) unregister() {
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
