package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func benchDenial(b *testing.B, i int) schemas.Event {
	return storetest.Event(b, fmt.Sprintf("bottle%d", i%4), schemas.KindDenial, schemas.Denial{
		ID: fmt.Sprint("d", i), Host: "registry.npmjs.org", Method: "GET", Path: "/some/package/path",
		Reason: "host_not_allowed", Hint: "ask with request_egress", Time: time.Now(),
	})
}

// BenchmarkAppend measures events/s into the store, one event per
// transaction (unbatched) and many (batched, as the bus writes).
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := openStore(b, sqlite.Options{Retain: -1})
			evs := make([]schemas.Event, b.N)
			for i := range evs {
				evs[i] = benchDenial(b, i)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				if _, err := s.Append(ctx, evs[i:min(i+batch, b.N)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkReplay measures reading a stored backlog, by page, across all
// bottles and for one bottle.
func BenchmarkReplay(b *testing.B) {
	const stored = 100_000
	s := openStore(b, sqlite.Options{Retain: -1})
	for i := 0; i < stored; i += 1000 {
		batch := make([]schemas.Event, 1000)
		for j := range batch {
			batch[j] = benchDenial(b, i+j)
		}
		if _, err := s.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, from := range []events.Cursor{{}, events.AfterSeq("bottle1", 0)} {
		b.Run(fmt.Sprintf("bottle=%q", from.Bottle), func(b *testing.B) {
			n := 0
			for range b.N {
				evs, _ := storetest.ReadAll(b, s, from, 1000)
				n += len(evs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkCrossProcessDelivery measures the time from a write in one
// process (a helper appending one event every 5ms, its time in the
// payload) to its delivery to a follower in this process, woken by the
// doorbell (the safety-net poll is set to an hour, so it never helps):
// waiting on the bell's futex, watching it with inotify as before, and
// reading it every 50ms as a process past its inotify limit did.
func BenchmarkCrossProcessDelivery(b *testing.B) {
	b.Run("watch=futex", func(b *testing.B) {
		defer sqlite.SetBellSafetyNet(time.Hour)()
		benchDelivery(b)
	})
	b.Run("watch=inotify", func(b *testing.B) {
		undo := sqlite.WatchBellWithInotify()
		defer undo()
		benchDelivery(b)
	})
	b.Run("watch=poll", func(b *testing.B) {
		undo := sqlite.RefuseBellMapping()
		defer undo()
		benchDelivery(b)
	})
}

// benchDelivery is BenchmarkCrossProcessDelivery with the store opened as
// the caller set it up.
func benchDelivery(b *testing.B) {
	path := filepath.Join(b.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := startHelper(b, "write", path, fmt.Sprint("N=", b.N), "BOTTLES=1", "PACE=5ms")
	h.expect(b, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var lat []time.Duration
	followed := make(chan error, 1)
	go func() {
		followed <- s.Follow(ctx, events.Cursor{}, func(p events.Page) error {
			now := time.Now()
			for _, ev := range p.Events {
				var w struct {
					WrittenNS int64 `json:"written_ns"`
				}
				if err := json.Unmarshal(ev.Payload, &w); err != nil {
					return err
				}
				lat = append(lat, now.Sub(time.Unix(0, w.WrittenNS)))
			}
			if len(lat) == b.N {
				return errEnough
			}
			return nil
		})
	}()
	b.ResetTimer()
	fmt.Fprintln(h.stdin, "go")
	if err := <-followed; !errors.Is(err, errEnough) {
		b.Fatal(err)
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdleBells measures the CPU time that 200 stores open on one
// file spend over 2s with nothing committed, in a helper process: each
// polling the bell every 50ms, as stores that could get no inotify
// instance did (past the 128 instances a user has on Debian), and each
// waiting on its futex, with the safety-net timeout as shipped and at 1s.
// It reports each and the ratio of polling to the futex as shipped.
func BenchmarkIdleBells(b *testing.B) {
	const stores, idle = 200, 2 * time.Second
	cpu := map[string]float64{}
	for _, mode := range []struct{ name, bell, safety string }{
		{"poll", "poll", ""}, {"futex", "futex", ""}, {"futex-1s", "futex", "1s"},
	} {
		path := filepath.Join(b.TempDir(), sqlite.FileName)
		h := startHelper(b, "idle", path, fmt.Sprint("N=", stores), "IDLE="+idle.String(),
			"BELL="+mode.bell, "SAFETY="+mode.safety)
		h.expect(b, "ready")
		fmt.Fprintln(h.stdin, "go")
		ns, err := strconv.ParseInt(h.expect(b, "cpu"), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		cpu[mode.name] = float64(ns) / 1e6
		b.ReportMetric(cpu[mode.name], mode.name+"-cpu-ms")
		h.stdin.Close()
	}
	b.ReportMetric(cpu["poll"]/max(cpu["futex"], 0.001), "poll/futex")
	b.ReportMetric(0, "ns/op")
}
