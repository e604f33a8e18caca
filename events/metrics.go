package events

import "github.com/prometheus/client_golang/prometheus"

// Drop reasons, the values of the reason label of
// bot_bottle_events_dropped_total.
const (
	DropQueueFull = "queue_full" // the producer outran the writer by QueueLimit events
	DropSpoolFull = "spool_full" // the sidecar's spool reached its size bound
	DropInvalid   = "invalid"    // the event failed Prepare: a producer bug
	DropRejected  = "rejected"   // the control plane refused it (kind or bottle not allowed)
	DropClosed    = "closed"     // published after Close, or still queued when Close gave up
)

// Metrics counts what the channel does, above all what it could not do: an
// event dropped, a follower that fell behind. One Metrics is shared by the
// bus, store, forwarder and handler of a process; each takes it in its
// options and makes an unregistered one when given none. The store counts
// what it stores; a forwarder counts in Duplicates the events the control
// plane already had (sent again after a lost answer).
type Metrics struct {
	Published      prometheus.Counter     // accepted by a Bus or Forwarder
	Dropped        *prometheus.CounterVec // not stored, by reason
	Stored         prometheus.Counter     // appended to the store
	Duplicates     prometheus.Counter     // appends skipped: the id was stored already
	AppendErrors   prometheus.Counter     // failed Appends (the bus retries them)
	FollowerBehind prometheus.Counter     // follower reads that found a full page waiting
	Pruned         prometheus.Counter     // events removed by retention
	Spooled        prometheus.Counter     // written to a sidecar's spool
	Delivered      prometheus.Counter     // acknowledged by the control plane
	DeliveryErrors prometheus.Counter     // failed deliveries (the forwarder retries them)
}

// NewMetrics makes the channel's counters and registers them with reg, if
// reg is not nil. It panics if they are registered already, as
// prometheus.MustRegister does: that is a wiring bug.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "bot_bottle", Subsystem: "events", Name: name, Help: help})
	}
	m := &Metrics{
		Published: c("published_total", "Events accepted from producers."),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "bot_bottle", Subsystem: "events", Name: "dropped_total",
			Help: "Events that will never be stored, by reason.",
		}, []string{"reason"}),
		Stored:         c("stored_total", "Events appended to the store."),
		Duplicates:     c("duplicates_total", "Appends skipped because the event id was already stored."),
		AppendErrors:   c("append_errors_total", "Appends that failed and were retried."),
		FollowerBehind: c("follower_behind_total", "Follower reads that found a full page waiting: the follower was behind and caught up from the store."),
		Pruned:         c("pruned_total", "Events removed by retention."),
		Spooled:        c("spooled_total", "Events written to a sidecar spool."),
		Delivered:      c("delivered_total", "Spooled events acknowledged by the control plane."),
		DeliveryErrors: c("delivery_errors_total", "Deliveries to the control plane that failed and will be retried."),
	}
	for _, r := range []string{DropQueueFull, DropSpoolFull, DropInvalid, DropRejected, DropClosed} {
		m.Dropped.WithLabelValues(r) // export zeros, so a rate() works from the start
	}
	if reg != nil {
		reg.MustRegister(m.Published, m.Dropped, m.Stored, m.Duplicates, m.AppendErrors,
			m.FollowerBehind, m.Pruned, m.Spooled, m.Delivered, m.DeliveryErrors)
	}
	return m
}

// OrNew returns m, or a fresh unregistered Metrics when m is nil: the
// components call it on the Metrics of their options, so counting never
// needs a nil check.
func (m *Metrics) OrNew() *Metrics {
	if m != nil {
		return m
	}
	return NewMetrics(nil)
}
