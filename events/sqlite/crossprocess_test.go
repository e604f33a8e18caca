package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
)

// Several processes append to one file at once while this one follows it
// with the safety-net poll set to an hour: everything arrives (so the
// doorbell, not the poll, woke the follower), and each bottle's seqs are
// gapless in pos order.
func TestProcessesShareTheStore(t *testing.T) {
	const procs, perProc = 3, 400
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var helpers []*helper
	for range procs {
		h := startHelper(t, "write", path, fmt.Sprint("N=", perProc), "BOTTLES=4")
		h.expect(t, "ready")
		helpers = append(helpers, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	followed := make(chan error, 1)
	var got []string
	go func() {
		followed <- s.Follow(ctx, events.Cursor{}, func(p events.Page) error {
			for _, ev := range p.Events {
				got = append(got, ev.ID)
			}
			if len(got) >= procs*perProc {
				return errEnough
			}
			return nil
		})
	}()
	for _, h := range helpers {
		fmt.Fprintln(h.stdin, "go")
	}
	for _, h := range helpers {
		h.expect(t, "done")
	}
	if err := <-followed; !errors.Is(err, errEnough) {
		t.Fatalf("follower: %v (received %d of %d)", err, len(got), procs*perProc)
	}
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != procs*perProc || len(got) != len(all) {
		t.Fatalf("store holds %d events, follower received %d, want %d", len(all), len(got), procs*perProc)
	}
	for i := range all {
		if all[i].ID != got[i] {
			t.Fatalf("follower's event %d is %s, the store's is %s", i, got[i], all[i].ID)
		}
	}
	storetest.CheckGapless(t, all)
}

var errEnough = errors.New("received everything")

// A hundred processes open the store at once and each records a bottle's
// life, as a hundred parallel launches do: every one of them is stored,
// and none is told that the database is locked (writers queue).
func TestParallelOpenersQueueRatherThanFail(t *testing.T) {
	const procs = 100
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	helpers := make([]*helper, procs)
	for i := range helpers {
		helpers[i] = startHelper(t, "launch", path)
	}
	failed := 0
	for _, h := range helpers {
		line, err := h.stdout.ReadString('\n')
		if err != nil || line != "ok\n" {
			failed++
			if failed <= 3 {
				t.Errorf("a parallel writer said %q (%v)", line, err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d parallel writers failed", failed, procs)
	}
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != 3*procs {
		t.Fatalf("store holds %d events, want %d", len(all), 3*procs)
	}
	storetest.CheckGapless(t, all)
}
