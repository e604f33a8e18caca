package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A wake-up that does not come fails these tests well before the hour the
// safety nets are set to.
const wakeDeadline = time.Minute

// appendOne appends one event of bottle through s.
func appendOne(t testing.TB, s *sqlite.Store, bottle string) {
	t.Helper()
	ev, err := schemas.NewEvent(bottle, schemas.KindDenial, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), []schemas.Event{ev}); err != nil {
		t.Fatal(err)
	}
}

// A follower in another process, whose every safety net is an hour, is
// woken by commits in this one. The second event is committed after the
// follower delivered the first, so it waits for it on the futex.
func TestAFollowerInAnotherProcessIsWokenByACommitHere(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := startHelper(t, "follow", path)
	h.expectWithin(t, "ready", wakeDeadline)
	for _, bottle := range []string{"first", "second"} {
		appendOne(t, s, bottle)
		if got := h.expectWithin(t, "got", wakeDeadline); got != bottle {
			t.Fatalf("the follower got %q, want %q", got, bottle)
		}
	}
}

// inotifyInstances counts this process's inotify descriptors.
func inotifyInstances(t testing.TB) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && link == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

// Two hundred stores open on one file in this process, as many owners
// of bottles are across processes, all wait on the bell without one
// inotify instance (the old watch needed one per store, and Debian allows
// a user 128), and a commit in another process wakes every follower.
func TestManyStoresAreWokenWithoutInotify(t *testing.T) {
	const stores = 200
	defer sqlite.SetBellSafetyNet(time.Hour)()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	before := inotifyInstances(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*wakeDeadline)
	defer cancel()
	got := make(chan string, 2*stores)
	for range stores {
		s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := sqlite.BellWatchErr(s); err != nil {
			t.Fatalf("a store polls the bell: %v", err)
		}
		go s.Follow(ctx, events.Cursor{}, func(p events.Page) error {
			for _, ev := range p.Events {
				got <- ev.Bottle
			}
			return nil
		})
	}
	if n := inotifyInstances(t) - before; n != 0 {
		t.Fatalf("%d stores opened %d inotify instances, want none", stores, n)
	}
	if limit, err := os.ReadFile("/proc/sys/fs/inotify/max_user_instances"); err == nil {
		t.Logf("%d stores, no inotify instance; the old watch needed %d, the limit per user is %s",
			stores, stores, strings.TrimSpace(string(limit)))
	}
	h := startHelper(t, "append", path)
	h.expectWithin(t, "ready", wakeDeadline)
	for _, bottle := range []string{"first", "second"} {
		fmt.Fprintln(h.stdin, bottle)
		h.expectWithin(t, "ok", wakeDeadline)
		for i := range stores {
			select {
			case b := <-got:
				if b != bottle {
					t.Fatalf("a follower got %q, want %q", b, bottle)
				}
			case <-ctx.Done():
				t.Fatalf("%d of %d followers were woken for %q", i, stores, bottle)
			}
		}
	}
}

// Close returns while the store's waiter sleeps on the futex with an
// hour to go, and leaves no waiter behind. (The waiter is this store's:
// counting every waiter in the process also counted other tests' stores
// closing meanwhile.)
func TestCloseEndsABlockedWaiter(t *testing.T) {
	defer sqlite.SetBellSafetyNet(time.Hour)()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sqlite.BellWaiterRunning(s) {
		t.Fatal("an open store has no bell waiter")
	}
	time.Sleep(50 * time.Millisecond) // let it reach the futex: Close must wake it there
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wakeDeadline):
		t.Fatal("Close waits for the waiter's timeout")
	}
	if sqlite.BellWaiterRunning(s) {
		t.Fatal("a closed store left its bell waiter running")
	}
}

// A bell file of an older version (8 bytes: the time) is grown to hold
// the futex word, its time kept, and rings through it wake followers.
func TestAnOldBellFileIsGrownAndRings(t *testing.T) {
	defer sqlite.SetBellSafetyNet(time.Hour)()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	old := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := os.WriteFile(path+"-bell", old, 0o600); err != nil {
		t.Fatal(err)
	}
	follower, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	b, err := os.ReadFile(path + "-bell")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != sqlite.BellSize || string(b[:8]) != string(old) {
		t.Fatalf("the bell file holds %v, want the old 8 bytes grown to %d", b, sqlite.BellSize)
	}
	if err := sqlite.BellWatchErr(follower); err != nil {
		t.Fatalf("the store polls the grown bell: %v", err)
	}
	writer, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	expectWoken(t, follower, func() { appendOne(t, writer, "a") })
}

// expectWoken follows s from the start and fails unless the event that
// commit appends (the store is empty before) is delivered.
func expectWoken(t *testing.T, s *sqlite.Store, commit func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wakeDeadline)
	defer cancel()
	got := make(chan struct{})
	go s.Follow(ctx, events.Cursor{}, func(p events.Page) error {
		close(got)
		return errEnough
	})
	for sqlite.FollowReads(s) == 0 { // the follower found the store empty, or is about to
		time.Sleep(time.Millisecond)
	}
	commit()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the follower was not woken")
	}
}

// Processes of two versions share a file through an upgrade: a ring of
// this version wakes an older process's inotify watch (it writes the time
// as before), and an older process's ring (only that write) wakes this
// version's waiter at its safety net.
func TestRingsCrossVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	writer, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	t.Run("old watcher", func(t *testing.T) {
		undo := sqlite.WatchBellWithInotify()
		old, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
		undo()
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		expectWoken(t, old, func() { appendOne(t, writer, "a") })
	})
	t.Run("old writer", func(t *testing.T) {
		defer sqlite.SetBellSafetyNet(50 * time.Millisecond)()
		s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// A store that cannot map the bell rings as an older one did:
		// it only writes the time.
		undo := sqlite.RefuseBellMapping()
		old, err := sqlite.Open(path, sqlite.Options{})
		undo()
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		expectWoken(t, s, func() { appendOne(t, old, "b") })
	})
}

// A bell file cut short under the stores' mappings (by hand: no version of
// bot-bottle shrinks it) makes their next touch of the mapping fault: the
// process survives it, the file is grown back, and followers are woken
// by the futex again.
func TestABellCutShortIsSurvived(t *testing.T) {
	// The waiters look at the word every 20ms: the first look after the
	// cut faults, with no ring needed (a ring's pwrite would lengthen
	// the file first).
	undo := sqlite.SetBellSafetyNet(20 * time.Millisecond)
	defer undo()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	follower, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()
	writer, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := os.Truncate(path+"-bell", 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wakeDeadline)
	defer cancel()
	for {
		if fi, err := os.Stat(path + "-bell"); err != nil {
			t.Fatal(err)
		} else if fi.Size() == sqlite.BellSize {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the bell file was not grown back")
		case <-time.After(10 * time.Millisecond):
		}
	}
	sqlite.SetBellSafetyNet(time.Hour) // from the waiters' next wait on
	time.Sleep(100 * time.Millisecond) // the last 20ms waits have ended
	expectWoken(t, follower, func() { appendOne(t, writer, "after") })
}

// A process that follows one bottle is not woken by commits to other
// bottles in another process: the doorbell's slots say which bottles a
// commit was for, so its tail does not read (a ramp of N owners, each
// woken into a query by every commit of every other, was O(N^2) queries).
// A commit to its bottle still wakes it at once. Every safety net is an
// hour, so a wake here came from the futex.
func TestCommitsToOtherBottlesWakeNoOne(t *testing.T) {
	defer sqlite.SetBellSafetyNet(time.Hour)()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	go func() {
		_ = s.Follow(ctx, events.Cursor{Bottle: "mine"}, func(p events.Page) error {
			for _, ev := range p.Events {
				got <- ev.Bottle
			}
			return nil
		})
	}()
	h := startHelper(t, "append", path)
	h.expectWithin(t, "ready", wakeDeadline)
	// The helper's first commit may find the tail still starting: wait
	// until it has read once, then count.
	deadline := time.Now().Add(wakeDeadline)
	for sqlite.TailReads(s) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	before := sqlite.TailReads(s)
	for i := range 50 {
		fmt.Fprintf(h.stdin, "other-%d\n", i)
		h.expectWithin(t, "ok", wakeDeadline)
	}
	time.Sleep(200 * time.Millisecond) // a wake takes well under a millisecond
	if n := sqlite.TailReads(s) - before; n != 0 {
		t.Errorf("50 commits to bottles no one here follows made the tail read %d times, want 0", n)
	}
	fmt.Fprintln(h.stdin, "mine")
	select {
	case b := <-got:
		if b != "mine" {
			t.Fatalf("the follower of mine got %q", b)
		}
	case <-time.After(wakeDeadline):
		t.Fatal("a commit to the followed bottle did not wake its follower")
	}
}
