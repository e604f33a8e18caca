package launcher_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A bottle whose owner died leaving events in its spool (its end, most
// likely: the store was full when it exited) is not an orphan: ps says
// its state is unconfirmed, and cleanup does not record it as failed.
// Once the spool is gone it is an orphan like any other.
func TestABottleWhoseOwnerLeftASpoolIsNotAnOrphan(t *testing.T) {
	w := newWorld(t)
	dead := launcher.Owner{PID: 1 << 30, Start: 1}
	running, err := schemas.NewEvent("demo-spooled", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "demo", Owner: dead.PID, OwnerStart: dead.Start})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Append(context.Background(), []schemas.Event{running}); err != nil {
		t.Fatal(err)
	}
	exited, _ := schemas.NewEvent("demo-spooled", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateExited, Name: "demo", Owner: dead.PID, OwnerStart: dead.Start})
	line, _ := json.Marshal(exited)
	spool := launcher.SpoolDir(w.home, dead)
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spool, "events.jsonl"), append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := w.l.List(context.Background(), false)
	if err != nil || len(list) != 1 || list[0].Orphaned || list[0].Unstored != spool {
		t.Fatalf("list: %+v, %v; want the bottle unconfirmed (events in %s), not orphaned", list, err, spool)
	}
	if _, err := w.l.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	latest, _ := w.store.Latest(context.Background(), schemas.KindLifecycle)
	var lc schemas.Lifecycle
	if len(latest) != 1 || latest[0].Decode(&lc) != nil || lc.State != schemas.StateRunning {
		t.Fatalf("after cleanup the bottle's latest state is %+v; cleanup must not record it as failed", lc)
	}
	os.RemoveAll(spool)
	if list, _ := w.l.List(context.Background(), false); len(list) != 1 || !list[0].Orphaned {
		t.Fatalf("without the spool: %+v, want an orphan", list)
	}
}
