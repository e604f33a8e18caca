package review

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// expiredEvents counts the KindExpired events stored for proposal id.
func (w *world) expiredEvents(id string) int {
	w.t.Helper()
	if err := w.bus.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	n := 0
	from := events.AfterPos(0)
	for {
		p, err := w.bus.Store().Read(context.Background(), from, 1000)
		if err != nil {
			w.t.Fatal(err)
		}
		if p.Empty() {
			return n
		}
		for _, ev := range p.Events {
			var x schemas.Expired
			if ev.Kind == schemas.KindExpired && ev.Decode(&x) == nil && x.ProposalID == id {
				n++
			}
		}
		from = p.Next
	}
}

// The owner ends its bottle: the pending proposal expires, the agent's
// waiting call says so, every desk lists it as expired, deciding it says
// when the bottle ended, and the owner takes no new request. A decided
// proposal keeps its outcome.
func TestOwnerEndExpiresPendingProposals(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	decidedCall := w.request(planner.RouteRequest{Host: "files.example.com"}, 30*time.Second)
	first := w.waitPending()
	if _, err := decide(w, first.ID, schemas.ActionDeny, "", "no"); err != nil {
		t.Fatal(err)
	}
	<-decidedCall
	waiting := w.request(planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}}, 30*time.Second)
	v := w.waitPending()

	code := 0
	end := EndingOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), schemas.Lifecycle{State: schemas.StateExited, ExitCode: &code})
	w.stopOwner()
	w.running[bottleID] = false
	if n := w.owner.End(end); n != 1 {
		t.Fatalf("End expired %d proposals, want 1", n)
	}
	if err := w.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	const notes = "expired: the bottle ended at 2026-01-02T03:04:05Z (exited with code 0)"
	select {
	case r := <-waiting:
		if r.Status != schemas.ProposalExpired || r.ProposalID != v.ID || r.Notes != notes {
			t.Fatalf("the agent's waiting call returned %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's waiting call did not return")
	}
	views, err := w.desk.Proposals(context.Background(), Filter{Status: schemas.ProposalExpired})
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || views[0].ID != v.ID || views[0].Expired == nil || views[0].Expired.Notes() != notes {
		t.Fatalf("expired proposals: %+v", views)
	}
	if denied, _ := w.desk.Proposal(context.Background(), first.ID); denied.Status != schemas.ProposalDenied {
		t.Fatalf("the decided proposal became %s", denied.Status)
	}
	_, err = decide(w, v.ID, schemas.ActionApprove, schemas.ScopeOnce, "")
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), notes) {
		t.Fatalf("deciding an expired proposal: %v", err)
	}
	if _, err := w.owner.Request(context.Background(), planner.RouteRequest{Host: "other.example.com"}, "x", nil, 0); err == nil ||
		!strings.Contains(err.Error(), "the bottle ended at 2026-01-02T03:04:05Z") {
		t.Fatalf("a request after the end: %v", err)
	}
	// Noticed again by the owner and by a desk: still one event.
	w.owner.End(end)
	if _, err := w.desk.ExpireEnded(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w.expiredEvents(v.ID); n != 1 {
		t.Fatalf("%d expiry events stored, want 1", n)
	}
}

// An owner that died never says its bottle ended: the desks that find it
// gone expire its proposals, with the end its registry records, once
// however many notice at the same time.
func TestDesksExpireTheProposalsOfADeadOwner(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	w.request(planner.RouteRequest{Host: "pypi.org"}, 0)
	v := w.waitPending()
	w.stopOwner() // the owner is gone: nothing of it answers
	life, _ := schemas.NewEvent(bottleID, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateFailed, Name: "main",
		Error: "its owner (pid 4242) died without stopping it;\ncleaned up by pid 7"})
	w.bus.Publish(life)
	w.running[bottleID] = false
	if err := w.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	desks := make([]*Desk, 4)
	for i := range desks {
		desks[i] = NewDesk(DeskConfig{Channel: w.bus, Running: func(context.Context, string) (bool, error) { return false, nil }})
	}
	for _, d := range desks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.ExpireEnded(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := w.expiredEvents(v.ID); n != 1 {
		t.Fatalf("%d expiry events stored, want 1", n)
	}
	got, err := w.desk.Proposal(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := "expired: the bottle ended at " + life.Time.UTC().Format(time.RFC3339) +
		" (failed: its owner (pid 4242) died without stopping it; cleaned up by pid 7)"
	if got.Status != schemas.ProposalExpired || got.Expired.Notes() != want || !strings.HasPrefix(got.Expired.NoticedBy, "pid ") {
		t.Fatalf("expired as %+v, notes %q, want %q", got.Expired, got.Expired.Notes(), want)
	}
}

// A desk that finds the owner dead with no end recorded (a SIGKILL before
// anyone ran cleanup) expires the proposal as of now and says so; a desk
// that cannot tell (no Running) leaves it pending.
func TestExpiryOfAnUnrecordedEnd(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	w.request(planner.RouteRequest{Host: "pypi.org"}, 0)
	v := w.waitPending()
	life, _ := schemas.NewEvent(bottleID, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "main", Owner: 4243})
	w.bus.Publish(life)
	if err := w.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	blind := NewDesk(DeskConfig{Channel: w.bus})
	if views, _ := blind.Proposals(context.Background(), Filter{}); len(views) != 1 || views[0].Status != schemas.ProposalPending {
		t.Fatalf("a desk without Running: %+v", views)
	}
	w.running[bottleID] = false
	_, err := decide(w, v.ID, schemas.ActionDeny, "", "late")
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "its owner (pid 4243) died without recording the end") {
		t.Fatalf("deciding: %v", err)
	}
}
