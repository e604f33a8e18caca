package launcher_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
)

var _ launcher.Leases = (*natsjs.Store)(nil)

// running records a running bottle owned by pid on machine.
func running(t *testing.T, reg launcher.Registry, id string, pid int, machine string) {
	t.Helper()
	ev, _ := schemas.NewEvent(id, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "x", Owner: pid, Machine: machine})
	if _, err := reg.Append(context.Background(), []schemas.Event{ev}); err != nil {
		t.Fatal(err)
	}
}

func info(t *testing.T, reg launcher.Registry, id string) launcher.Info {
	t.Helper()
	list, err := launcher.ListRegistry(context.Background(), reg, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.ID == id {
			return in
		}
	}
	t.Fatalf("bottle %s not listed", id)
	return launcher.Info{}
}

// TestOwnersOnOtherMachines: on SQLite (one machine's registry) every
// owner is checked by its pid, whatever its machine's name; on NATS an
// owner on another machine lives while its lease does, and a dead one is
// lost, not orphaned; an owner on this machine is still checked by pid.
func TestOwnersOnOtherMachines(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	running(t, sq, "renamed", os.Getpid(), "old-host-name")
	if in := info(t, sq, "renamed"); in.Lost || in.Orphaned || in.Machine != "old-host-name" {
		t.Errorf("SQLite, a live owner under another machine name: %+v", in)
	}
	if ok, err := launcher.Running(ctx, sq, "renamed"); err != nil || !ok {
		t.Errorf("SQLite: running %v, %v", ok, err)
	}

	srv := natstest.Start(t, natstest.Options{})
	js, err := natsjs.Open(ctx, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	running(t, js, "far", os.Getpid(), "far-away")
	running(t, js, "near-dead", 1<<30, launcher.ThisMachine())
	if in := info(t, js, "far"); !in.Lost || in.Orphaned {
		t.Errorf("NATS, another machine's bottle without a lease: %+v, want lost", in)
	}
	if ok, _ := launcher.Running(ctx, js, "far"); ok {
		t.Error("a lost bottle counts as running")
	}
	if err := js.Lease(ctx, "far", "1/0@far-away"); err != nil {
		t.Fatal(err)
	}
	if in := info(t, js, "far"); in.Lost || in.Orphaned {
		t.Errorf("NATS, another machine's bottle with a lease: %+v, want running", in)
	}
	if ok, _ := launcher.Running(ctx, js, "far"); !ok {
		t.Error("a leased bottle does not count as running")
	}
	if in := info(t, js, "near-dead"); !in.Orphaned || in.Lost {
		t.Errorf("NATS, this machine's dead owner: %+v, want orphaned", in)
	}
}
