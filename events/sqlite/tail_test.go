package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A follower of one bottle is woken by its own bottle's events only: with
// many bottles in one process, a commit of one must not make every
// bottle's followers read (each launch cost a query per running bottle).
// Events appended by another Store on the same file (another process)
// wake it too.
func TestBottleFollowersWakeForTheirBottleOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	other, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	must(t, err)
	t.Cleanup(func() { other.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const followers = 50
	got := make(chan string, followers*4)
	var wg sync.WaitGroup
	for i := range followers {
		bottle := fmt.Sprintf("b%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Follow(ctx, events.Cursor{Bottle: bottle}, func(p events.Page) error {
				for _, ev := range p.Events {
					got <- ev.Bottle
				}
				return nil
			})
		}()
	}
	appendTo := func(st *sqlite.Store, bottle string) {
		t.Helper()
		ev, err := schemas.NewEvent(bottle, schemas.KindDenial, 1)
		must(t, err)
		_, err = st.Append(ctx, []schemas.Event{ev})
		must(t, err)
	}
	expect := func(bottle string) {
		t.Helper()
		select {
		case b := <-got:
			if b != bottle {
				t.Fatalf("a follower got an event of %s, want %s", b, bottle)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the follower of %s was not woken", bottle)
		}
	}
	// Every follower is registered and idle once each has had one event.
	for i := range followers {
		appendTo(s, fmt.Sprintf("b%03d", i))
	}
	for range followers {
		select {
		case <-got:
		case <-time.After(30 * time.Second):
			t.Fatal("a follower did not start")
		}
	}
	time.Sleep(100 * time.Millisecond) // the last ones are back waiting

	before := sqlite.FollowReads(s)
	const commits = 20
	for range commits {
		appendTo(s, "b007")
		expect("b007")
		appendTo(other, "b042")
		expect("b042")
	}
	// Each commit wakes its bottle's follower: a read that finds the
	// event, and one that finds nothing more. Waking every follower would
	// be followers reads per commit.
	if reads := sqlite.FollowReads(s) - before; reads > 2*2*commits+4 {
		t.Errorf("%d commits of two bottles made the %d followers read %d times; want about %d", 2*commits, followers, reads, 2*2*commits)
	}
	cancel()
	wg.Wait()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
