package natsjs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// twoStores opens two handles on one channel, as two processes (or, for
// NATS, two machines) have: two connections to the server, or two
// handles on one SQLite file.
func twoStores(b *testing.B, kind string) (events.Store, events.Store) {
	b.Helper()
	open := func() events.Store {
		var s events.Store
		var err error
		switch kind {
		case "sqlite":
			s, err = sqlite.Open(filepath.Join(b.TempDir(), "..", sqlite.FileName), sqlite.Options{Retain: -1})
		default:
			s, err = natsjs.Open(context.Background(), natsjs.Options{URL: kind})
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}

func benchKinds(b *testing.B) map[string]string {
	srv := natstest.Start(b, natstest.Options{})
	return map[string]string{"sqlite": "sqlite", "nats": srv.URL()}
}

// BenchmarkAppend measures events/s into each store, one event per call
// and a hundred (as the bus batches).
func BenchmarkAppend(b *testing.B) {
	for _, name := range []string{"sqlite", "nats"} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				s, _ := twoStores(b, benchKinds(b)[name])
				evs := make([]schemas.Event, b.N)
				for i := range evs {
					evs[i] = storetest.Event(b, fmt.Sprintf("bottle%d", i%4), schemas.KindDenial,
						schemas.Denial{Host: "registry.npmjs.org", Method: "GET", Path: "/some/package", Reason: "host_not_allowed"})
				}
				b.ResetTimer()
				for i := 0; i < b.N; i += batch {
					if _, err := s.Append(context.Background(), evs[i:min(i+batch, b.N)]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

var errEnough = errors.New("enough")

// BenchmarkDelivery measures the time from Append returning on one handle
// to the event reaching a follower on the other, one event every 2ms:
// across processes for SQLite (its doorbell file), across connections
// (machines) for NATS (the republished doorbell).
func BenchmarkDelivery(b *testing.B) {
	for _, name := range []string{"sqlite", "nats"} {
		b.Run(name, func(b *testing.B) {
			w, r := twoStores(b, benchKinds(b)[name])
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			head, err := r.Head(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			var lat []time.Duration
			followed := make(chan error, 1)
			go func() {
				followed <- r.Follow(ctx, head, func(p events.Page) error {
					now := time.Now()
					for _, ev := range p.Events {
						var ns int64
						if err := json.Unmarshal(ev.Payload, &ns); err != nil {
							return err
						}
						lat = append(lat, now.Sub(time.Unix(0, ns)))
					}
					if len(lat) >= b.N {
						return errEnough
					}
					return nil
				})
			}()
			time.Sleep(50 * time.Millisecond) // the follower is listening
			b.ResetTimer()
			for range b.N {
				ev := storetest.Event(b, "d", schemas.KindDenial, time.Now().UnixNano())
				if _, err := w.Append(ctx, []schemas.Event{ev}); err != nil {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			if err := <-followed; !errors.Is(err, errEnough) {
				b.Fatal(err)
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.95), "p95-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkQuery measures a desk's listing (the newest 100 denials of one
// host) in a store of 10,000, 50,000 and 100,000 denials: SQLite answers
// from its indexes; NATS from the store's index in the process, which the
// first Query builds by reading the stream (first-ms, not in ns/op) and
// every later one brings up to date.
func BenchmarkQuery(b *testing.B) {
	for _, name := range []string{"sqlite", "nats"} {
		for _, stored := range []int{10_000, 50_000, 100_000} {
			b.Run(fmt.Sprintf("%s/stored=%d", name, stored), func(b *testing.B) {
				s, _ := twoStores(b, benchKinds(b)[name])
				for i := 0; i < stored; i += 1000 {
					batch := make([]schemas.Event, 1000)
					for j := range batch {
						batch[j] = storetest.Event(b, fmt.Sprintf("bottle%d", (i+j)%8), schemas.KindDenial,
							schemas.Denial{Host: fmt.Sprintf("h%d.example", (i+j)%10), Method: "GET", Path: "/", Reason: "host_not_allowed"})
					}
					if _, err := s.Append(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				f := events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Host: "h3.example", Limit: 100}
				start := time.Now()
				if m, err := s.Query(context.Background(), f); err != nil || len(m.Events) != 100 {
					b.Fatalf("query: %d events, %v", len(m.Events), err)
				}
				first := time.Since(start)
				b.ResetTimer()
				for range b.N {
					m, err := s.Query(context.Background(), f)
					if err != nil || len(m.Events) != 100 {
						b.Fatalf("query: %d events, %v", len(m.Events), err)
					}
				}
				b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
			})
		}
	}
}
