package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// testFollowSeam starts followers part-way into a store that several
// writers are appending to, and checks that each receives exactly what a
// final read from its cursor returns: no gap and no duplicate where replay
// turns into live, and per-bottle seqs gapless.
func testFollowSeam(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	const bottles, writers, perWriter = 4, 4, 150
	bottle := func(i int) string { return fmt.Sprintf("seam%d", i%bottles) }
	var pre []schemas.Event
	for i := range 100 {
		pre = append(pre, Event(t, bottle(i), schemas.KindDenial, i))
	}
	stored := mustAppend(t, s, pre...)

	starts := []events.Cursor{events.AfterPos(stored[49].Pos), events.AfterSeq(bottle(0), 10), {}}
	sentinel := Event(t, bottle(0), schemas.KindReload, "end")
	got := make([][]schemas.Event, len(starts))
	var followers sync.WaitGroup
	errDone := errors.New("sentinel seen")
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	for i, from := range starts {
		followers.Add(1)
		go func() {
			defer followers.Done()
			err := s.Follow(c, from, func(p events.Page) error {
				if len(p.Gaps) > 0 {
					return fmt.Errorf("gaps %v in a store without retention", p.Gaps)
				}
				got[i] = append(got[i], p.Events...)
				if got[i][len(got[i])-1].ID == sentinel.ID {
					return errDone
				}
				return nil
			})
			if !errors.Is(err, errDone) {
				t.Errorf("follower from %s: %v", from, err)
			}
		}()
	}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for n := 0; n < perWriter; {
				k := min(1+r.IntN(5), perWriter-n)
				batch := make([]schemas.Event, k)
				for j := range batch {
					batch[j] = Event(t, bottle(r.IntN(bottles)), schemas.KindDenial, n+j)
				}
				if _, err := s.Append(c, batch); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				n += k
			}
		}()
	}
	wg.Wait()
	mustAppend(t, s, sentinel)
	followers.Wait()

	for i, from := range starts {
		want, _ := ReadAll(t, s, from, 0)
		if len(got[i]) != len(want) {
			t.Errorf("follower from %s received %d events, the store has %d after that cursor", from, len(got[i]), len(want))
			continue
		}
		for j := range want {
			if got[i][j].ID != want[j].ID {
				t.Errorf("follower from %s: event %d is %s (seq %d), want %s (seq %d)", from, j, got[i][j].ID, got[i][j].Seq, want[j].ID, want[j].Seq)
				break
			}
		}
	}
	all, _ := ReadAll(t, s, events.Cursor{}, 0)
	if want := 100 + writers*perWriter + 1; len(all) != want {
		t.Fatalf("store holds %d events, want %d", len(all), want)
	}
	CheckGapless(t, all)
}

// CheckGapless fails t unless, in the pos order of evs, each bottle's seqs
// run 1, 2, 3... and every id is unique.
func CheckGapless(t testing.TB, evs []schemas.Event) {
	t.Helper()
	next := map[string]uint64{}
	ids := map[string]bool{}
	for i, ev := range evs {
		if ids[ev.ID] {
			t.Fatalf("event %s stored twice", ev.ID)
		}
		ids[ev.ID] = true
		if i > 0 && ev.Pos <= evs[i-1].Pos {
			t.Fatalf("pos %d after %d: not increasing", ev.Pos, evs[i-1].Pos)
		}
		if want := next[ev.Bottle] + 1; ev.Seq != want {
			t.Fatalf("bottle %s: seq %d where %d was due", ev.Bottle, ev.Seq, want)
		}
		next[ev.Bottle] = ev.Seq
	}
}
