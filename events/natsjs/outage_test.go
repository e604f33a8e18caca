package natsjs_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestServerRestart stops the server while an owner's bus publishes and a
// desk follows, starts it again on the same port and store, and checks
// that every event is stored once, in per-bottle order, and that the
// follower received each once. Then the server goes away again while the
// owner exits: the bus spools what it holds, and the next process
// delivers the spool once the server is back.
func TestServerRestart(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	owner, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := open(t, natsjs.Options{URL: srv.URL(), Poll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(owner, events.BusOptions{SpoolDir: filepath.Join(t.TempDir(), "spool", "owner")})

	var mu sync.Mutex
	seen := map[string]int{}
	followCtx, stopFollow := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() {
		followed <- desk.Follow(followCtx, events.Cursor{}, func(p events.Page) error {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range p.Events {
				seen[ev.ID]++
			}
			return nil
		})
	}()

	const before, during, after = 20, 30, 20
	publish := func(n int) {
		for i := range n {
			bus.Publish(storetest.Event(t, []string{"r1", "r2"}[i%2], schemas.KindDenial, i))
		}
	}
	publish(before)
	if err := bus.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	publish(during)
	time.Sleep(300 * time.Millisecond) // the bus tries, and fails, while the server is away
	srv.Start()
	publish(after)
	if err := bus.Flush(ctx); err != nil {
		t.Fatalf("flush after the restart: %v", err)
	}
	all := readWhenBack(t, desk, before+during+after)
	if len(all) != before+during+after {
		t.Fatalf("stored %d events, want %d", len(all), before+during+after)
	}
	storetest.CheckGapless(t, all)
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == len(all) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopFollow()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Errorf("follower: %v", err)
	}
	for _, ev := range all {
		if seen[ev.ID] != 1 {
			t.Errorf("the follower received event %s (seq %d of %s) %d times", ev.ID, ev.Seq, ev.Bottle, seen[ev.ID])
		}
	}

	// The owner exits while the server is away: its bus spools.
	srv.Stop()
	publish(10)
	closeCtx, closeCancel := context.WithTimeout(ctx, 3*time.Second)
	defer closeCancel()
	var unstored *events.UnstoredError
	if err := bus.Close(closeCtx); !errors.As(err, &unstored) || unstored.Spooled != 10 || unstored.Lost != 0 {
		t.Fatalf("close with the server away: %v, want 10 events spooled", err)
	}
	srv.Start()
	// The next process delivers the spool when it opens the store; this
	// one tries until its connection is back.
	var n int
	for try := 0; try < 100; try++ {
		if n, err = events.DeliverSpools(ctx, desk, filepath.Dir(unstored.Dir)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || n != 10 {
		t.Fatalf("deliver the spool: %d, %v", n, err)
	}
	if n, _ := events.DeliverSpools(ctx, desk, filepath.Dir(unstored.Dir)); n != 0 {
		t.Errorf("a second delivery found %d events", n)
	}
	all, _ = storetest.ReadAll(t, desk, events.Cursor{}, 0)
	if len(all) != before+during+after+10 {
		t.Fatalf("stored %d events after the spool, want %d", len(all), before+during+after+10)
	}
	storetest.CheckGapless(t, all)
}

// TestRetentionGaps keeps 3 events per bottle and kind and checks that a
// reader behind retention is told what it missed, by bottle and across
// bottles, and that the latest lifecycle survives.
func TestRetentionGaps(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	s, err := open(t, natsjs.Options{URL: srv.URL(), Retain: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	evs := []schemas.Event{storetest.Event(t, "r", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning})}
	for i := range 6 {
		evs = append(evs, storetest.Event(t, "r", schemas.KindDenial, i))
	}
	if _, err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// Stored: lifecycle seq 1, denials seq 5, 6, 7; seqs 2..4 are gone.
	p, err := s.Read(ctx, events.AfterSeq("r", 0), 10)
	if err != nil || len(p.Gaps) != 0 || len(p.Events) != 1 || p.Events[0].Seq != 1 {
		t.Fatalf("first page by bottle: %+v, %v; want seq 1 and a page that ends before the hole", p, err)
	}
	p, err = s.Read(ctx, p.Next, 10)
	if err != nil || len(p.Gaps) != 1 || p.Gaps[0] != (events.Gap{Bottle: "r", First: 2, Last: 4}) || len(p.Events) != 3 || p.Events[0].Seq != 5 {
		t.Fatalf("second page by bottle: %+v, %v; want the gap 2..4 and seqs 5..7", p, err)
	}
	got, gaps := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(got) != 4 || len(gaps) != 1 || gaps[0] != (events.Gap{Bottle: "r", Last: 4}) {
		t.Fatalf("all bottles: %d events, gaps %+v; want 4 and the gap up to 4", len(got), gaps)
	}
	// A fresh store (another process) reading from the middle finds it too.
	other, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	p, err = other.Read(ctx, events.AfterPos(got[0].Pos), 10)
	if err != nil || len(p.Gaps) != 1 || p.Gaps[0].Last != 4 {
		t.Fatalf("from the middle: %+v, %v; want the gap up to 4", p, err)
	}
	latest, err := s.Latest(ctx, schemas.KindLifecycle)
	if err != nil || len(latest) != 1 || latest[0].Seq != 1 {
		t.Fatalf("latest lifecycle: %+v, %v", latest, err)
	}
	if h, _ := s.Head(ctx, "r"); h != events.AfterSeq("r", 7) {
		t.Errorf("head: %v", h)
	}
}

// readWhenBack reads every event through s once its connection is back
// from an outage (a reader retries; ReadAll would fail the test at the
// first refused read), waiting for at least want of them.
func readWhenBack(t *testing.T, s events.Store, want int) []schemas.Event {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var all []schemas.Event
		var err error
		for from := (events.Cursor{}); ; {
			var p events.Page
			if p, err = s.Read(context.Background(), from, 0); err != nil || p.Empty() {
				break
			}
			all, from = append(all, p.Events...), p.Next
		}
		if err == nil && len(all) >= want || time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("read after the outage: %v", err)
			}
			return all
		}
	}
}
