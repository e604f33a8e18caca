package events_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func openStore(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newBus(t testing.TB, s events.Store, opts events.BusOptions) *events.Bus {
	t.Helper()
	b := events.NewBus(s, opts)
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestBusStoresEverythingPublished(t *testing.T) {
	m := events.NewMetrics(nil)
	s := openStore(t, sqlite.Options{Metrics: m})
	b := newBus(t, s, events.BusOptions{Metrics: m})
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				b.Publish(storetest.Event(t, fmt.Sprintf("b%d", (p+i)%3), schemas.KindDenial, i))
			}
		}()
	}
	wg.Wait()
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != 8000 {
		t.Fatalf("stored %d of 8000", len(all))
	}
	storetest.CheckGapless(t, all)
	if p, st := counter(m.Published), counter(m.Stored); p != 8000 || st != 8000 {
		t.Errorf("published_total %v, stored_total %v, want 8000 each", p, st)
	}
}

func TestBusDropsInvalidEventsAndStoresTheRest(t *testing.T) {
	s := openStore(t, sqlite.Options{})
	m := events.NewMetrics(nil)
	b := newBus(t, s, events.BusOptions{Metrics: m})
	good := storetest.Event(t, "a", schemas.KindDenial, 1)
	bad := storetest.Event(t, "a", schemas.KindDenial, 2)
	bad.Payload = []byte("{not json")
	b.Publish(bad)
	b.Publish(good)
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != 1 || all[0].ID != good.ID {
		t.Fatalf("stored %+v, want only the valid event", all)
	}
	if n := counter(m.Dropped.WithLabelValues(events.DropInvalid)); n != 1 {
		t.Errorf("dropped_total{invalid} = %v, want 1", n)
	}
}

// lockStore holds the store's write lock from a connection of its own (a
// write transaction that does not end, as a stuck process would hold it)
// until the returned func is called.
func lockStore(t *testing.T, s *sqlite.Store) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// While the store cannot be written, the bus keeps what it holds, drops and
// counts what exceeds QueueLimit (without making Publish wait), and stores
// the rest once the store is writable again.
func TestBusOverflowWhileTheStoreIsLocked(t *testing.T) {
	s := openStore(t, sqlite.Options{BusyTimeout: 20 * time.Millisecond})
	m := events.NewMetrics(nil)
	b := newBus(t, s, events.BusOptions{QueueLimit: 100, Metrics: m, Logger: quietLogger()})
	unlock := lockStore(t, s)
	for i := range 250 {
		b.Publish(storetest.Event(t, "a", schemas.KindDenial, i))
	}
	if n := counter(m.Dropped.WithLabelValues(events.DropQueueFull)); n != 150 {
		t.Errorf("dropped_total{queue_full} = %v, want 150", n)
	}
	waitFor(t, "an append to fail against the lock", func() bool { return counter(m.AppendErrors) > 0 })
	unlock()
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	all, _ := storetest.ReadAll(t, s, events.AfterSeq("a", 0), 0)
	if len(all) != 100 {
		t.Fatalf("stored %d, want the 100 the queue held", len(all))
	}
	storetest.CheckGapless(t, all)
}

// Without a spool, what Close cannot store is lost, and it says so: how
// many, and the store's error.
func TestBusCloseReportsWhatItCouldNotStore(t *testing.T) {
	s := openStore(t, sqlite.Options{BusyTimeout: 20 * time.Millisecond})
	m := events.NewMetrics(nil)
	b := events.NewBus(s, events.BusOptions{Metrics: m, Logger: quietLogger()})
	lockStore(t, s)
	for i := range 10 {
		b.Publish(storetest.Event(t, "a", schemas.KindDenial, i))
	}
	err := b.Close(testCtx(t))
	var unstored *events.UnstoredError
	if !errors.As(err, &unstored) || unstored.Lost != 10 || unstored.Spooled != 0 || !errors.Is(err, sqlite.ErrLocked) {
		t.Fatalf("close with an unwritable store: %v, want 10 events lost for the lock", err)
	}
	if n := counter(m.Dropped.WithLabelValues(events.DropClosed)); n != 10 {
		t.Errorf("dropped_total{closed} = %v, want 10", n)
	}
	b.Publish(storetest.Event(t, "a", schemas.KindDenial, 11))
	if n := counter(m.Dropped.WithLabelValues(events.DropClosed)); n != 11 {
		t.Errorf("publish after close: dropped_total{closed} = %v, want 11", n)
	}
}

// With a spool, what Close cannot store is written there, in order, the
// bottle's last lifecycle event marked with the count, and Close says
// where; the next process's DeliverSpools stores all of it, once, and
// removes the spool.
func TestBusCloseSpoolsWhatItCouldNotStore(t *testing.T) {
	s := openStore(t, sqlite.Options{BusyTimeout: 20 * time.Millisecond})
	root := filepath.Join(t.TempDir(), "spool")
	b := events.NewBus(s, events.BusOptions{Logger: quietLogger(), SpoolDir: filepath.Join(root, "1234-5678"), SpoolReserve: 1 << 20})
	stored := storetest.Event(t, "a", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning})
	b.Publish(stored)
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	unlock := lockStore(t, s)
	var want []string
	for i := range 10 {
		ev := storetest.Event(t, []string{"a", "b"}[i%2], schemas.KindDenial, i)
		b.Publish(ev)
		want = append(want, ev.ID)
	}
	exited := storetest.Event(t, "a", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateExited})
	b.Publish(exited)
	want = append(want, exited.ID)
	err := b.Close(testCtx(t))
	var unstored *events.UnstoredError
	if !errors.As(err, &unstored) || unstored.Spooled != 11 || unstored.Lost != 0 || unstored.Dir != filepath.Join(root, "1234-5678") {
		t.Fatalf("close: %v, want 11 events spooled in %s", err, filepath.Join(root, "1234-5678"))
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "11 events could not be stored; spooled in "+unstored.Dir) {
		t.Errorf("the error does not say what a person needs: %v", err)
	}
	if !events.SpoolPending(unstored.Dir) {
		t.Error("SpoolPending: false for a spool of 11 events")
	}
	unlock()
	n, err := events.DeliverSpools(testCtx(t), s, root)
	if err != nil || n != 11 {
		t.Fatalf("deliver: %d, %v; want 11", n, err)
	}
	if _, err := os.Stat(unstored.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the delivered spool is still there: %v", err)
	}
	if n, err := events.DeliverSpools(testCtx(t), s, root); n != 0 || err != nil {
		t.Errorf("second delivery: %d, %v; want nothing", n, err)
	}
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != 12 || all[0].ID != stored.ID {
		t.Fatalf("store holds %d events, want 12", len(all))
	}
	for i, id := range want {
		if all[i+1].ID != id {
			t.Fatalf("event %d is %s, want %s: the spool kept the order", i+1, all[i+1].ID, id)
		}
	}
	var lc schemas.Lifecycle
	if err := all[11].Decode(&lc); err != nil || lc.State != schemas.StateExited || lc.Spooled != 6 {
		t.Errorf("the delivered exited event: %+v (%v), want it to say that 6 of a's events were spooled", lc, err)
	}
	storetest.CheckGapless(t, all)
}

// A spool still held by its process (a live control plane) is not
// delivered; a bus that stored everything leaves no spool behind.
func TestDeliverSpoolsLeavesALiveProcesssSpool(t *testing.T) {
	s := openStore(t, sqlite.Options{})
	root := filepath.Join(t.TempDir(), "spool")
	b := events.NewBus(s, events.BusOptions{Logger: quietLogger(), SpoolDir: filepath.Join(root, "1-1"), SpoolReserve: 1 << 20})
	b.Publish(storetest.Event(t, "a", schemas.KindDenial, 1))
	if n, err := events.DeliverSpools(testCtx(t), s, root); n != 0 || err != nil {
		t.Fatalf("deliver beside a live bus: %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(root, "1-1")); err != nil {
		t.Fatalf("the live bus's spool was removed: %v", err)
	}
	if err := b.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("a bus that stored everything left %d spools", len(entries))
	}
}

// A subscriber that stops reading leaves the proxy's request rate as it was.
// Two proxies (real HTTP handlers that publish a denial per request), each
// with its own bus and store, one with a subscriber stuck from its first
// page, are driven alternately; their best rates are compared. Then the
// stuck subscriber is released and catches up from the store, losing
// nothing.
func TestStuckSubscriberDoesNotSlowTheProducer(t *testing.T) {
	const requests, rounds = 2000, 3
	type proxy struct {
		bus     *events.Bus
		metrics *events.Metrics
		srv     *httptest.Server
		best    float64
	}
	newProxy := func() *proxy {
		p := &proxy{metrics: events.NewMetrics(nil)}
		p.bus = newBus(t, openStore(t, sqlite.Options{Metrics: p.metrics}), events.BusOptions{Metrics: p.metrics})
		p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ev, err := schemas.NewEvent("b", schemas.KindDenial, schemas.Denial{Host: "x.example", Method: r.Method, Path: r.URL.Path, Reason: "host_not_allowed"})
			if err != nil {
				t.Error(err)
			}
			p.bus.Publish(ev)
			w.WriteHeader(http.StatusForbidden)
		}))
		t.Cleanup(p.srv.Close)
		return p
	}
	drive := func(p *proxy) {
		start := time.Now()
		for range requests {
			resp, err := p.srv.Client().Get(p.srv.URL + "/blocked")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		p.best = max(p.best, requests/time.Since(start).Seconds())
	}
	free, stuck := newProxy(), newProxy()

	gate := make(chan struct{})
	firstPage := make(chan struct{})
	var once sync.Once
	received := 0
	followed := make(chan error, 1)
	go func() {
		followed <- stuck.bus.Follow(testCtx(t), events.Cursor{}, func(p events.Page) error {
			once.Do(func() { close(firstPage) })
			<-gate
			received += len(p.Events)
			if received == rounds*requests {
				return errEnough
			}
			return nil
		})
	}()
	for round := range rounds {
		drive(free)
		drive(stuck)
		if round == 0 {
			<-firstPage // stuck from here on
		}
	}
	ratio := stuck.best / free.best
	t.Logf("requests/s: %.0f without a stuck subscriber, %.0f with one (ratio %.2f)", free.best, stuck.best, ratio)
	// A producer that waited on the stuck subscriber would stall once its
	// queue filled (a ratio near 0); a loaded shared machine moves the
	// ratio of two honest runs down to about 0.5.
	if ratio < 0.25 {
		t.Errorf("a stuck subscriber cut the proxy's request rate to %.2f of its rate without one", ratio)
	}

	close(gate)
	if err := <-followed; !errors.Is(err, errEnough) {
		t.Fatalf("released subscriber: %v after %d of %d events", err, received, rounds*requests)
	}
	if n := counter(stuck.metrics.FollowerBehind); n == 0 {
		t.Error("the subscriber fell behind by thousands of events and follower_behind_total stayed 0")
	}
	for _, r := range []string{events.DropQueueFull, events.DropClosed} {
		if n := counter(stuck.metrics.Dropped.WithLabelValues(r)); n != 0 {
			t.Errorf("dropped_total{%s} = %v", r, n)
		}
	}
}

var errEnough = errors.New("received everything")

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition that has no signal
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
