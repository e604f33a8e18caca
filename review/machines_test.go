package review

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestDecisionFromAnotherMachine puts a bottle's owner on "machine A" and
// a review desk on "machine B", each with its own connection to one real
// NATS server (two homes, two stores: nothing shared but the channel).
// The desk sees A's denial and proposal, approves, and A's owner applies
// the decision to its live proxy: the agent's retried request succeeds.
// A second decision is refused as on one machine, and once A stops
// refreshing its lease (a crash), B refuses a decision on its bottle.
func TestDecisionFromAnotherMachine(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	ctx := context.Background()
	openStore := func() *natsjs.Store {
		s, err := natsjs.Open(ctx, natsjs.Options{URL: srv.URL(), LeaseTTL: time.Second, Poll: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storeA := openStore()
	a := newWorldOn(t, baseManifest, Limits{}, storeA)

	// A's launcher records the bottle and leases it, as a launch does.
	life, _ := schemas.NewEvent(bottleID, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "main",
		Owner: os.Getpid(), Machine: "machine-a"})
	if _, err := storeA.Append(ctx, []schemas.Event{life}); err != nil {
		t.Fatal(err)
	}
	leaseCtx, crash := context.WithCancel(ctx)
	defer crash()
	go func() {
		for leaseCtx.Err() == nil {
			storeA.Lease(leaseCtx, bottleID, "pid@machine-a")
			time.Sleep(200 * time.Millisecond)
		}
	}()

	storeB := openStore()
	busB := events.NewBus(storeB, events.BusOptions{})
	t.Cleanup(func() {
		busB.Close(ctx)
		storeB.Close()
	})
	deskB := NewDesk(DeskConfig{Channel: busB, Running: func(ctx context.Context, id string) (bool, error) {
		return launcher.Running(ctx, storeB, id)
	}})
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("machine B never saw %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the bottle running", func() bool {
		list, err := launcher.ListRegistry(ctx, storeB, false)
		return err == nil && len(list) == 1 && list[0].Owner.Machine == "machine-a" && !list[0].Lost && !list[0].Orphaned
	})

	c := a.client()
	if code := a.get(c, "https://pypi.org/simple/x"); code != 403 {
		t.Fatalf("before approval: %d, want 403", code)
	}
	waitFor("the denial", func() bool {
		m, err := storeB.Query(ctx, events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Host: "pypi.org"})
		return err == nil && len(m.Events) == 1 && m.Events[0].Bottle == bottleID
	})
	waiting := a.request(planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET"}}, 30*time.Second)
	var v View
	waitFor("the proposal", func() bool {
		views, err := deskB.Proposals(ctx, Filter{Status: schemas.ProposalPending})
		if err == nil && len(views) == 1 {
			v = views[0]
		}
		return v.ID != ""
	})
	applied, err := deskB.Decide(ctx, schemas.Decision{ProposalID: v.ID, Action: schemas.ActionApprove, Scope: schemas.ScopeOnce,
		DecidedBy: schemas.DecidedByCLI}, 20*time.Second)
	if err != nil || applied.Status != schemas.ProposalApproved {
		t.Fatalf("approve from machine B: %+v, %v", applied, err)
	}
	if res := <-waiting; res.Status != schemas.ProposalApproved {
		t.Fatalf("the agent on machine A was told %+v", res)
	}
	if code := a.get(c, "https://pypi.org/simple/x"); code != 200 {
		t.Fatalf("the retried request on machine A: %d, want 200", code)
	}
	if _, err := deskB.Decide(ctx, schemas.Decision{ProposalID: v.ID, Action: schemas.ActionDeny, DecidedBy: schemas.DecidedByCLI}, 10*time.Second); !errors.Is(err, ErrNotPending) {
		t.Fatalf("a second decision from B: %v, want ErrNotPending", err)
	}

	// Machine A crashes: its lease lapses, and B refuses to decide for it.
	a.request(planner.RouteRequest{Host: "files.example.com"}, 0)
	var second View
	waitFor("the second proposal", func() bool {
		views, err := deskB.Proposals(ctx, Filter{Status: schemas.ProposalPending})
		if err == nil && len(views) == 1 {
			second = views[0]
		}
		return second.ID != ""
	})
	crash()
	waitFor("the bottle lost", func() bool {
		list, err := launcher.ListRegistry(ctx, storeB, false)
		return err == nil && len(list) == 1 && list[0].Lost && !list[0].Orphaned
	})
	_, err = deskB.Decide(ctx, schemas.Decision{ProposalID: second.ID, Action: schemas.ActionApprove, Scope: schemas.ScopeOnce,
		DecidedBy: schemas.DecidedByCLI}, 10*time.Second)
	if !errors.Is(err, ErrBottleGone) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a decision for the lost machine's bottle: %v, want it refused as gone", err)
	}
}
