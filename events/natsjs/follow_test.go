package natsjs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestFollowerWakesOnlyForItsBottle follows one bottle while another's
// events are stored: the follower's doorbell is its bottle's subjects, so
// it reads nothing for the other bottle, and wakes for its own.
func TestFollowerWakesOnlyForItsBottle(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	writer, err := Open(ctx, Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	follower, err := Open(ctx, Options{URL: srv.URL(), Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	requests := func() uint64 {
		follower.replies.mu.Lock()
		defer follower.replies.mu.Unlock()
		return follower.replies.next
	}
	event := func(bottle string) []schemas.Event {
		ev, err := schemas.NewEvent(bottle, schemas.KindDenial, schemas.Denial{Host: "x.test"})
		if err != nil {
			t.Fatal(err)
		}
		return []schemas.Event{ev}
	}
	if _, err := writer.Append(ctx, event("mine")); err != nil {
		t.Fatal(err)
	}
	got := make(chan schemas.Event, 10)
	errDone := errors.New("done")
	followed := make(chan error, 1)
	go func() {
		followed <- follower.Follow(ctx, events.AfterSeq("mine", 1), func(p events.Page) error {
			for _, ev := range p.Events {
				got <- ev
			}
			return errDone
		})
	}()
	// Wait until the follower has read (nothing) and sleeps on its bell.
	for before := requests(); ; before = requests() {
		time.Sleep(100 * time.Millisecond)
		if before > 0 && requests() == before {
			break
		}
	}
	idle := requests()
	for range 20 {
		if _, err := writer.Append(ctx, event("other")); err != nil {
			t.Fatal(err)
		}
	}
	if err := writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a bell rings within a millisecond or two
	if n := requests() - idle; n != 0 {
		t.Errorf("the follower of one bottle read %d times for another's events", n)
	}
	if _, err := writer.Append(ctx, event("mine")); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.Bottle != "mine" || ev.Seq != 2 {
			t.Errorf("the follower got %s seq %d", ev.Bottle, ev.Seq)
		}
	case <-ctx.Done():
		t.Fatal("the follower did not wake for its bottle's event")
	}
	if err := <-followed; !errors.Is(err, errDone) {
		t.Fatal(err)
	}
}
