package launcher_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/planner"
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
	if in := info(t, sq, "renamed"); in.Lost || in.Orphaned || in.Owner.Machine != "old-host-name" {
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

// countedLeases counts how a launcher asks for leases, and how often it
// had read a lease by key when it asked a bottle to stop.
type countedLeases struct {
	*natsjs.Store
	listed, held, heldAtAsk atomic.Int32
}

func (c *countedLeases) Append(ctx context.Context, evs []schemas.Event) ([]schemas.Event, error) {
	for _, ev := range evs {
		if ev.Kind == schemas.KindStopRequested {
			c.heldAtAsk.Store(c.held.Load())
		}
	}
	return c.Store.Append(ctx, evs)
}

func (c *countedLeases) Leased(ctx context.Context) (map[string]bool, error) {
	c.listed.Add(1)
	return c.Store.Leased(ctx)
}

func (c *countedLeases) Held(ctx context.Context, bottle string) (bool, error) {
	c.held.Add(1)
	return c.Store.Held(ctx, bottle)
}

// TestStopAsksARemoteLeaseByKey stops a bottle owned on another machine:
// Stop asks the stop and waits for the owner's end, watching the owner's
// lease meanwhile. The state lookup lists the bucket once and says
// whether the owner lives, so Stop does not ask again before its request;
// the wait reads the one key, never the whole bucket (twice a second, for
// as long as the owner takes).
func TestStopAsksARemoteLeaseByKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := natstest.Start(t, natstest.Options{})
	js, err := natsjs.Open(ctx, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	reg := &countedLeases{Store: js}
	home := t.TempDir()
	p, err := planner.New(map[string]string{planner.HomeEnv: home, "HOME": t.TempDir()}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(reg, events.BusOptions{})
	defer bus.Close(context.Background())
	l, err := launcher.New(launcher.Config{Home: home, Planner: p, Backends: []launcher.Backend{netns.New("/nonexistent")}, Registry: reg, Publisher: bus})
	if err != nil {
		t.Fatal(err)
	}
	running(t, js, "far", 4242, "far-away")
	if err := js.Lease(ctx, "far", "4242/1@far-away"); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- l.Stop(ctx, "far", "test") }()

	// The owner on "far-away": it sees the request, takes its time (the
	// stopper watches its lease meanwhile), and records the end.
	errSeen := errors.New("seen")
	err = js.Follow(ctx, events.AfterSeq("far", 0), func(p events.Page) error {
		for _, ev := range p.Events {
			if ev.Kind == schemas.KindStopRequested {
				return errSeen
			}
		}
		return nil
	})
	if !errors.Is(err, errSeen) {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); reg.held.Load() < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the stopper did not read the owner's lease by its key while it waited (%d reads; the bucket listed %d times)", reg.held.Load(), reg.listed.Load())
		}
		if err := js.Lease(ctx, "far", "4242/1@far-away"); err != nil {
			t.Fatal(err)
		}
	}
	ev, _ := schemas.NewEvent("far", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateExited, Name: "x", Owner: 4242, Machine: "far-away"})
	if _, err := js.Append(ctx, []schemas.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := reg.listed.Load(); n != 1 {
		t.Errorf("the bucket was listed %d times, want once (the state lookup)", n)
	}
	if n := reg.heldAtAsk.Load(); n != 0 {
		t.Errorf("Stop read the lease %d times between its lookup and its request: the lookup already said whether the owner lives", n)
	}
}
