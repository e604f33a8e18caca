package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func appendN(t testing.TB, s events.Store, bottle string, n int) []schemas.Event {
	t.Helper()
	var out []schemas.Event
	for i := 0; i < n; i += 50 {
		batch := make([]schemas.Event, min(50, n-i))
		for j := range batch {
			batch[j] = storetest.Event(t, bottle, schemas.KindDenial, i+j)
		}
		got, err := s.Append(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

func TestRetentionKeepsTheNewestAndReportsWhatItRemoved(t *testing.T) {
	s := openStore(t, sqlite.Options{Retain: 100})
	life := storetest.Event(t, "a", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning})
	if _, err := s.Append(context.Background(), []schemas.Event{life}); err != nil {
		t.Fatal(err)
	}
	a := appendN(t, s, "a", 999)
	b := appendN(t, s, "b", 1000)
	if _, err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}

	got, gaps := storetest.ReadAll(t, s, events.AfterSeq("a", 0), 30)
	if len(got) != 100 || got[0].Seq != 901 || got[99].ID != a[998].ID {
		t.Fatalf("bottle a keeps %d events from seq %d, want the newest 100 (901..1000)", len(got), got[0].Seq)
	}
	if len(gaps) != 1 || gaps[0] != (events.Gap{Bottle: "a", First: 1, Last: 900}) {
		t.Fatalf("gaps of a from the start: %v, want one: 1..900", gaps)
	}
	if _, gaps := storetest.ReadAll(t, s, events.AfterSeq("a", 950), 30); len(gaps) != 0 {
		t.Errorf("a reader past the pruned range is told of gaps: %v", gaps)
	}

	all, gaps := storetest.ReadAll(t, s, events.Cursor{}, 7)
	if len(all) != 200 {
		t.Errorf("all bottles keep %d events, want 200", len(all))
	}
	if len(gaps) != 2 || gaps[0].Bottle != "a" || gaps[0].Last != 900 || gaps[1].Bottle != "b" || gaps[1].Last != 900 {
		t.Errorf("gaps across all bottles: %v, want each bottle's once", gaps)
	}
	// A reader that had seen b's first 950 events by position misses
	// nothing of b, but a's were pruned behind it.
	_, gaps = storetest.ReadAll(t, s, events.AfterPos(b[949].Pos), 0)
	if len(gaps) != 0 {
		t.Errorf("reader after pos %d is told of gaps %v it did not miss", b[949].Pos, gaps)
	}
	_, gaps = storetest.ReadAll(t, s, events.AfterPos(a[100].Pos), 0)
	if len(gaps) != 2 {
		t.Errorf("reader after a's event 101 should be told of both gaps, got %v", gaps)
	}

	latest, err := s.Latest(context.Background(), schemas.KindLifecycle)
	if err != nil || len(latest) != 1 || latest[0].ID != life.ID {
		t.Fatalf("latest lifecycle after its event was pruned: %+v, %v", latest, err)
	}
}

func TestRetentionRunsInTheBackgroundBesideWriters(t *testing.T) {
	m := events.NewMetrics(nil)
	s := openStore(t, sqlite.Options{Retain: 200, Metrics: m})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendN(t, s, fmt.Sprintf("w%d", w), 2000)
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(time.Minute)
	for {
		done := true
		for w := range 3 {
			got, _ := storetest.ReadAll(t, s, events.AfterSeq(fmt.Sprintf("w%d", w), 0), 0)
			if len(got) > 200+20 {
				done = false
			}
			if got[len(got)-1].Seq != 2000 {
				t.Fatalf("w%d: newest seq %d, want 2000", w, got[len(got)-1].Seq)
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background retention did not bring the bottles near their bound")
		}
		time.Sleep(20 * time.Millisecond) // polling a state with no signal of its own
	}
	if n := counter(m.Pruned); n < 3*(2000-220) {
		t.Errorf("pruned_total is %v", n)
	}
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	checkContiguous(t, all)
}

// checkContiguous checks that what retention left is, per bottle, a
// contiguous run of seqs in pos order.
func checkContiguous(t *testing.T, evs []schemas.Event) {
	t.Helper()
	last := map[string]uint64{}
	for _, ev := range evs {
		if l, ok := last[ev.Bottle]; ok && ev.Seq != l+1 {
			t.Fatalf("bottle %s: seq %d after %d", ev.Bottle, ev.Seq, l)
		}
		last[ev.Bottle] = ev.Seq
	}
}
