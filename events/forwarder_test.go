package events_test

import (
	"context"
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
)

func newForwarder(t *testing.T, spool, sock string, m *events.Metrics) *events.Forwarder {
	t.Helper()
	f, err := events.NewForwarder(events.ForwarderOptions{
		SpoolDir: spool, Endpoint: events.UnixScheme + sock,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Metrics: m, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

// serveControl serves a control plane for store on sock in this process.
func serveControl(t *testing.T, s events.Store, sock string, opts events.HandlerOptions) {
	t.Helper()
	l, err := events.ListenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	srv := &http.Server{Handler: events.NewHandler(s, opts)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

func denial(t testing.TB, bottle string, i int) schemas.Event {
	return storetest.Event(t, bottle, schemas.KindDenial, schemas.Denial{Host: "blocked.example", Method: "GET", Path: "/" + string(rune('a'+i%26)), Reason: "host_not_allowed"})
}

// The control plane (a real process owning the store) is killed with
// SIGKILL three times while a sidecar-style forwarder publishes denials,
// and restarted each time: every denial arrives in the store exactly once.
func TestControlPlaneKilledWhileDenialsFlow(t *testing.T) {
	dir := t.TempDir()
	db, sock := filepath.Join(dir, sqlite.FileName), filepath.Join(dir, "control.sock")
	cp := startHelper(t, "control-plane", db, sock)
	cp.expect(t, "serving")
	m := events.NewMetrics(nil)
	f := newForwarder(t, filepath.Join(dir, "spool"), sock, m)

	var ids []string
	publish := func() {
		ev := denial(t, "sidecar", len(ids))
		ids = append(ids, ev.ID)
		f.Publish(ev)
		if len(ids)%10 == 0 {
			time.Sleep(time.Millisecond) // a steady stream, not one burst
		}
	}
	const kills, between = 3, 800
	for range kills {
		for range between {
			publish()
		}
		cp.kill(t)
		// Keep publishing into the dead control plane until the forwarder
		// has failed to deliver, then bring the control plane back.
		failures := counter(m.DeliveryErrors)
		for counter(m.DeliveryErrors) == failures {
			publish()
		}
		cp = startHelper(t, "control-plane", db, sock)
		cp.expect(t, "serving")
	}
	for range between {
		publish()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (delivered %v of %d)", err, counter(m.Delivered), len(ids))
	}

	s, err := sqlite.Open(db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored, gaps := storetest.ReadAll(t, s, events.AfterSeq("sidecar", 0), 0)
	if len(gaps) != 0 {
		t.Fatalf("gaps: %v", gaps)
	}
	if len(stored) != len(ids) {
		t.Errorf("store holds %d denials, %d were published", len(stored), len(ids))
	}
	seen := map[string]int{}
	for _, ev := range stored {
		seen[ev.ID]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("denial %s is stored %d times", id, seen[id])
		}
	}
	storetest.CheckGapless(t, stored)
	t.Logf("%d denials, %d delivery failures, %v sent again after a lost answer", len(ids), int(counter(m.DeliveryErrors)), counter(m.Duplicates))
}

// dropAnswer commits each batch and then cuts the connection instead of
// answering, the first few times: a control plane that dies between its
// commit and its answer.
type dropAnswer struct {
	next  http.Handler
	mu    sync.Mutex
	drops int
}

func (d *dropAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	drop := d.drops > 0
	d.drops--
	d.mu.Unlock()
	if !drop {
		d.next.ServeHTTP(w, r)
		return
	}
	d.next.ServeHTTP(httptest.NewRecorder(), r) // commits
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestLostAnswerIsSentAgainAndStoredOnce(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, sqlite.Options{})
	sock := filepath.Join(dir, "control.sock")
	l, err := events.ListenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: &dropAnswer{next: events.NewHandler(s, events.HandlerOptions{}), drops: 3}}
	go srv.Serve(l)
	defer srv.Close()
	m := events.NewMetrics(nil)
	f := newForwarder(t, filepath.Join(dir, "spool"), sock, m)
	for i := range 50 {
		f.Publish(denial(t, "a", i))
	}
	if err := f.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	stored, _ := storetest.ReadAll(t, s, events.AfterSeq("a", 0), 0)
	if len(stored) != 50 {
		t.Fatalf("stored %d, want 50", len(stored))
	}
	storetest.CheckGapless(t, stored)
	if counter(m.Duplicates) == 0 || counter(m.DeliveryErrors) != 3 {
		t.Errorf("duplicates %v, delivery errors %v: want batches sent again after 3 lost answers", counter(m.Duplicates), counter(m.DeliveryErrors))
	}
}

// A sidecar stopped while the control plane is away keeps its events in
// its spool, a torn last line included, and the next one delivers them.
func TestRestartedSidecarDeliversItsSpool(t *testing.T) {
	dir := t.TempDir()
	spool, sock := filepath.Join(dir, "spool"), filepath.Join(dir, "control.sock")
	m := events.NewMetrics(nil)
	f, err := events.NewForwarder(events.ForwarderOptions{SpoolDir: spool, Endpoint: events.UnixScheme + sock, Metrics: m, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.NewForwarder(events.ForwarderOptions{SpoolDir: spool, Endpoint: events.UnixScheme + sock}); err == nil ||
		!strings.Contains(err.Error(), "another forwarder") {
		t.Errorf("a second forwarder on the same spool: %v", err)
	}
	var ids []string
	for i := range 300 {
		ev := denial(t, "a", i)
		ids = append(ids, ev.ID)
		f.Publish(ev)
	}
	waitFor(t, "the events to be spooled", func() bool { return counter(m.Spooled) == 300 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f.Close(ctx)
	torn, err := os.OpenFile(filepath.Join(spool, "events.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn.WriteString(`{"id":"half-writ`)
	torn.Close()

	s := openStore(t, sqlite.Options{})
	serveControl(t, s, sock, events.HandlerOptions{})
	f2 := newForwarder(t, spool, sock, nil)
	if err := f2.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	stored, _ := storetest.ReadAll(t, s, events.AfterSeq("a", 0), 0)
	if len(stored) != 300 {
		t.Fatalf("stored %d of the 300 spooled", len(stored))
	}
	for i, ev := range stored {
		if ev.ID != ids[i] {
			t.Fatalf("event %d is %s, want %s: the spool is delivered in order", i, ev.ID, ids[i])
		}
	}
	if fi, err := os.Stat(filepath.Join(spool, "events.jsonl")); err != nil || fi.Size() != 0 {
		t.Errorf("the spool is not emptied once delivered: %v, %v", fi.Size(), err)
	}
}

// Events the control plane refuses (a kind a sidecar may not publish) are
// dropped and counted, and do not hold back the ones after them.
func TestRejectedEventsDoNotBlockTheSpool(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	s := openStore(t, sqlite.Options{})
	serveControl(t, s, sock, events.HandlerOptions{Bottle: "a"})
	m := events.NewMetrics(nil)
	f := newForwarder(t, filepath.Join(dir, "spool"), sock, m)
	f.Publish(storetest.Event(t, "a", schemas.KindDecision, map[string]string{"verdict": "approve"}))
	f.Publish(denial(t, "other-bottle", 0))
	f.Publish(denial(t, "a", 1))
	if err := f.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	stored, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(stored) != 1 || stored[0].Kind != schemas.KindDenial || stored[0].Bottle != "a" {
		t.Fatalf("stored %+v, want only a's denial", stored)
	}
	if n := counter(m.Dropped.WithLabelValues(events.DropRejected)); n != 2 {
		t.Errorf("dropped_total{rejected} = %v, want 2", n)
	}
}

// refuseFirst answers the first request with a client error, as a control
// plane that cannot parse a batch would.
type refuseFirst struct {
	next    http.Handler
	mu      sync.Mutex
	refused bool
}

func (h *refuseFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	refuse := !h.refused
	h.refused = true
	h.mu.Unlock()
	if refuse {
		http.Error(w, "decode batch: nonsense", http.StatusBadRequest)
		return
	}
	h.next.ServeHTTP(w, r)
}

// A batch the control plane refuses outright is dropped and counted rather
// than sent forever, and a control plane that takes only small batches gets
// small batches.
func TestForwarderNeverStallsOnARefusedBatch(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	s := openStore(t, sqlite.Options{})
	l, err := events.ListenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: &refuseFirst{next: events.NewHandler(s, events.HandlerOptions{MaxBatch: 3, Logger: quietLogger()})}}
	go srv.Serve(l)
	defer srv.Close()
	m := events.NewMetrics(nil)
	f := newForwarder(t, filepath.Join(dir, "spool"), sock, m)
	first := denial(t, "a", 0)
	f.Publish(first)
	waitFor(t, "the first batch to be refused", func() bool { return counter(m.Dropped.WithLabelValues(events.DropRejected)) == 1 })
	for i := range 20 {
		f.Publish(denial(t, "a", i+1))
	}
	if err := f.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	stored, _ := storetest.ReadAll(t, s, events.AfterSeq("a", 0), 0)
	if len(stored) != 20 || stored[0].ID == first.ID {
		t.Fatalf("stored %d events, want the 20 after the refused one", len(stored))
	}
}
