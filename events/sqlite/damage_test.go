package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/testfs"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// damagedStore writes a store of a few thousand events over many bottles,
// closes it (which moves everything from the log into the file) and
// overwrites one page of the b-tree named tree with random bytes (see
// testfs.DamagePage).
func damagedStore(t *testing.T, tree string, root bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4000; i += 200 {
		var batch []schemas.Event
		for j := range 200 {
			bottle := fmt.Sprintf("bottle-%03d", (i+j)%60)
			kind, payload := schemas.KindDenial, any(schemas.Denial{ID: fmt.Sprint(i + j), Host: fmt.Sprintf("h%d.example", j%7), Path: "/x"})
			if j%20 == 0 {
				kind, payload = schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "n"}
			}
			ev, _ := schemas.NewEvent(bottle, kind, payload)
			batch = append(batch, ev)
		}
		if _, err := s.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	testfs.DamagePage(t, path, tree, root)
	return path
}

// A damaged page in the registry (the latest-of-kind table that ps and
// stop read) is refused at open, naming the file, and the file is left as
// it was.
func TestADamagedRegistryIsRefusedAtOpen(t *testing.T) {
	for _, table := range []string{"latest", "bottles"} {
		t.Run(table, func(t *testing.T) {
			path := damagedStore(t, table, true)
			before, _ := os.ReadFile(path)
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened a store whose registry is damaged")
			}
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), table) {
				t.Errorf("error %q: want ErrCorrupt naming %s and the table", err, path)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the damaged file was written to")
			}
		})
	}
}

// A damaged page of an index that appends go through opens (the registry
// is sound) but cannot record a new bottle: the append fails with
// ErrCorrupt, so the launcher, which records a bottle before it starts
// anything, refuses. Check finds the damage.
func TestADamagedIndexRefusesTheAppendAndCheckFindsIt(t *testing.T) {
	path := damagedStore(t, "sqlite_autoindex_events_2", true)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	ev, _ := schemas.NewEvent("bottle-new", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateStarting})
	_, err = s.Append(context.Background(), []schemas.Event{ev})
	t.Log(err)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("append to a store with a damaged index: %v, want ErrCorrupt naming %s", err, path)
	}
	problems, err := s.Check(context.Background(), false)
	if err != nil || len(problems) == 0 {
		t.Errorf("check: %v, %v; want the damage reported", problems, err)
	}
}

// A damaged page among old events does not stop the store from recording
// (nothing new goes there) and is found by Check, quick or full; a reader
// that reaches it is told ErrCorrupt, never a short answer.
func TestADamagedEventPageIsFoundByCheck(t *testing.T) {
	path := damagedStore(t, "events", false)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	ev, _ := schemas.NewEvent("bottle-001", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateStarting})
	if _, err := s.Append(context.Background(), []schemas.Event{ev}); err != nil {
		t.Errorf("append beside a damaged old page: %v", err)
	}
	for _, full := range []bool{false, true} {
		problems, err := s.Check(context.Background(), full)
		t.Logf("full=%v: %v %v", full, problems, err)
		if err != nil || len(problems) == 0 {
			t.Errorf("check (full=%v): %v, %v; want the damage reported", full, problems, err)
		}
	}
	from := events.Cursor{}
	for {
		p, err := s.Read(context.Background(), from, 500)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("reading across the damaged page: %v, want ErrCorrupt", err)
			}
			return
		}
		if p.Empty() {
			t.Fatal("read the whole store without meeting the damaged page")
		}
		from = p.Next
	}
}
