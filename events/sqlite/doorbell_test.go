package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Where the bell cannot be mapped (a filesystem that refuses shared
// mappings), a follower is still woken by the doorbell, which its process
// reads instead of waiting on: an event appended through another store on
// the file arrives in well under the hour-long safety-net poll.
func TestFollowersAreWokenWithoutTheFutex(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	writer, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	undo := RefuseBellMapping()
	follower, err := Open(path, Options{PollInterval: time.Hour})
	undo()
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	if follower.door.watchErr == nil || follower.door.word != nil {
		t.Fatal("the follower's store waits on the futex: the test did not take the mapping away")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := make(chan time.Time, 1)
	go func() {
		_ = follower.Follow(ctx, events.Cursor{}, func(p events.Page) error {
			if len(p.Events) > 0 {
				got <- time.Now()
				return errors.New("done")
			}
			return nil
		})
	}()
	time.Sleep(200 * time.Millisecond) // the follower has read the empty store and waits
	ev, _ := schemas.NewEvent("a", schemas.KindDenial, 1)
	start := time.Now()
	if _, err := writer.Append(ctx, []schemas.Event{ev}); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		t.Logf("delivered %v after the append", at.Sub(start))
	case <-time.After(30 * time.Second):
		t.Fatal("the follower was not woken without the futex")
	}
}
