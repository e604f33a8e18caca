package events_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// BenchmarkPublish measures what the proxy's request path pays to publish
// a denial, while the bus's writer (or the forwarder's spooler) stores
// what was published: the latency of each Publish call, and the
// throughput end to end (until everything is stored or spooled).
func BenchmarkPublish(b *testing.B) {
	evs := func(b *testing.B) []schemas.Event {
		out := make([]schemas.Event, b.N)
		for i := range out {
			out[i] = denial(b, "bench", i)
		}
		return out
	}
	measure := func(b *testing.B, p events.Publisher, all []schemas.Event, flush func(context.Context) error) {
		lat := make([]time.Duration, len(all))
		b.ResetTimer()
		for i, ev := range all {
			t0 := time.Now()
			p.Publish(ev)
			lat[i] = time.Since(t0)
		}
		if err := flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		slices.Sort(lat)
		q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Nanoseconds()) }
		b.ReportMetric(q(0.5), "p50-ns")
		b.ReportMetric(q(0.99), "p99-ns")
		b.ReportMetric(q(1), "max-ns")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stored-events/s")
	}
	b.Run("bus", func(b *testing.B) {
		m := events.NewMetrics(nil)
		bus := newBus(b, openStore(b, sqlite.Options{Retain: -1}), events.BusOptions{QueueLimit: 1 << 30, Metrics: m})
		measure(b, bus, evs(b), bus.Flush)
		if n := counter(m.Dropped.WithLabelValues(events.DropQueueFull)); n > 0 {
			b.Fatalf("dropped %v", n)
		}
	})
	b.Run("forwarder", func(b *testing.B) {
		dir := b.TempDir()
		m := events.NewMetrics(nil)
		f, err := events.NewForwarder(events.ForwarderOptions{
			SpoolDir: filepath.Join(dir, "spool"), Endpoint: events.UnixScheme + filepath.Join(dir, "nobody.sock"),
			QueueLimit: 1 << 30, Metrics: m, Logger: quietLogger(),
		})
		if err != nil {
			b.Fatal(err)
		}
		defer func() {
			// Nobody to deliver to: stop at once, leaving the spool.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			f.Close(ctx)
		}()
		all := evs(b)
		spooled := func(ctx context.Context) error { // no control plane: measure up to the spool
			for counter(m.Spooled) < float64(len(all)) {
				time.Sleep(time.Millisecond)
			}
			return nil
		}
		measure(b, f, all, spooled)
	})
}
