package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	garbage := bytes.Repeat([]byte("not a database, but somebody's precious bytes\n"), 200)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path, sqlite.Options{})
	if err == nil {
		s.Close()
		t.Fatal("opened a file of garbage as the event store")
	}
	t.Log(err)
	if !errors.Is(err, sqlite.ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q: want ErrCorrupt naming %s", err, path)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, garbage) {
		t.Error("the garbage file was modified")
	}
	for _, sidecar := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + sidecar); err == nil {
			t.Errorf("%s%s was created beside a file that is not a database", path, sidecar)
		}
	}
}

func TestOpenFailsClearlyWhileAnotherProcessHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Append(context.Background(), []schemas.Event{storetest.Event(t, "a", schemas.KindDenial, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	h := startHelper(t, "lock", path)
	h.expect(t, "locked")
	_, err = sqlite.Open(path, sqlite.Options{BusyTimeout: 300 * time.Millisecond})
	t.Log(err)
	if !errors.Is(err, sqlite.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a locked store: %v; want ErrLocked naming %s", err, path)
	}
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("lock holder: %v", err)
	}

	s, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open after the lock holder exited: %v", err)
	}
	defer s.Close()
	all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != 1 || all[0].ID != stored[0].ID {
		t.Fatalf("after the lock: %+v, want the event stored before", all)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(path, sqlite.Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

func TestReopenKeepsEventsAndSeqs(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	for round := range 3 {
		s, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Append(context.Background(), []schemas.Event{storetest.Event(t, "a", schemas.KindDenial, round)})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Seq != uint64(round+1) {
			t.Fatalf("round %d: seq %d", round, got[0].Seq)
		}
	}
}

// A writer that stops in the middle of its turn (here: a process holding
// the writers' queue) keeps the others waiting for BusyTimeout, and then
// they fail with ErrLocked naming the process; once it is gone they write.
func TestAStuckWriterIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{BusyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := startHelper(t, "stuck-writer", path)
	h.expect(t, "locked")
	_, err = s.Append(context.Background(), []schemas.Event{storetest.Event(t, "a", schemas.KindDenial, 1)})
	t.Log(err)
	if !errors.Is(err, sqlite.ErrLocked) || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), fmt.Sprintf("pid %d", h.cmd.Process.Pid)) {
		t.Fatalf("append behind a stuck writer: %v; want ErrLocked naming %s and pid %d", err, path, h.cmd.Process.Pid)
	}
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), []schemas.Event{storetest.Event(t, "a", schemas.KindDenial, 2)}); err != nil {
		t.Fatalf("append after the stuck writer left: %v", err)
	}
}

// A queue that moves is waited out however long it is: with BusyTimeout
// 150ms, an append behind four processes that each take their turn ten
// times for 100ms (four seconds in all) is stored.
func TestALongQueueThatMovesIsWaitedOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(path, sqlite.Options{BusyTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var hs []*helper
	for range 4 {
		h := startHelper(t, "busy-writer", path)
		h.expect(t, "ready")
		hs = append(hs, h)
	}
	time.Sleep(50 * time.Millisecond) // the helpers hold the queue
	start := time.Now()
	if _, err := s.Append(context.Background(), []schemas.Event{storetest.Event(t, "a", schemas.KindDenial, 1)}); err != nil {
		t.Fatalf("append behind a moving queue (%v): %v", time.Since(start), err)
	}
	t.Logf("waited %v behind the queue", time.Since(start))
	for _, h := range hs {
		h.expect(t, "done")
	}
}
