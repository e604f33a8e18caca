package review

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// manualTimers replaces the owner's timers: a grant expires when the test
// fires it, never after wall-clock time.
type manualTimers struct {
	mu    sync.Mutex
	fires []func()
	lims  []time.Duration
}

func (m *manualTimers) install(o *Owner) {
	o.after = func(d time.Duration, f func()) func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.fires, m.lims = append(m.fires, f), append(m.lims, d)
		return func() bool { return true }
	}
}

// fire runs the i-th timer's expiry, as its time being up would.
func (m *manualTimers) fire(t *testing.T, i int) {
	t.Helper()
	m.mu.Lock()
	if i >= len(m.fires) {
		m.mu.Unlock()
		t.Fatalf("no timer %d (have %d)", i, len(m.fires))
	}
	f := m.fires[i]
	m.mu.Unlock()
	f()
}

// decideFor decides v with a time limit.
func decideFor(w *world, v View, action, forText string, route *schemas.Route) (*schemas.Applied, error) {
	return w.desk.Decide(context.Background(), schemas.Decision{ProposalID: v.ID, Action: action, Scope: schemas.ScopeOnce,
		Route: route, For: forText, DecidedBy: schemas.DecidedByCLI}, 10*time.Second)
}

// timedWorld is a world whose owner's grants expire when the test fires
// their timers.
func timedWorld(t *testing.T) (*world, *manualTimers) {
	t.Helper()
	w := newWorld(t, baseManifest, Limits{})
	timers := &manualTimers{}
	timers.install(w.owner)
	return w, timers
}

// decidedFor makes the agent request req, decides its proposal with a time
// limit (modified to route(v) when route is set), waits for the agent's
// answer and returns the proposal.
func (w *world) decidedFor(req planner.RouteRequest, action, forText string, route func(View) *schemas.Route) View {
	w.t.Helper()
	waiting := w.request(req, 30*time.Second)
	v := w.waitPending()
	var r *schemas.Route
	if route != nil {
		r = route(v)
	}
	if _, err := decideFor(w, v, action, forText, r); err != nil {
		w.t.Fatal(err)
	}
	<-waiting
	return v
}

// routeExpired waits for the RouteExpired of proposal id on the channel.
func (w *world) routeExpired(id string) schemas.RouteExpired {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got *schemas.RouteExpired
	for got == nil && ctx.Err() == nil {
		views, err := w.desk.Proposals(ctx, Filter{})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, v := range views {
			if v.ID == id && v.RouteExpired != nil {
				got = v.RouteExpired
			}
		}
		if got == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if got == nil {
		w.t.Fatalf("no route_expired event for %s", id)
	}
	return *got
}

func TestTimeLimitedApprovalIsRemovedWhenItsTimeIsUp(t *testing.T) {
	w, timers := timedWorld(t)
	c := w.client()
	waiting := w.request(planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET"}}, 30*time.Second)
	v := w.waitPending()
	before := time.Now().UTC()
	applied, err := decideFor(w, v, schemas.ActionApprove, " 30m0s ", nil)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Status != schemas.ProposalApproved || applied.For != "30m" ||
		applied.ExpiresAt.Before(before.Add(30*time.Minute)) || applied.ExpiresAt.After(time.Now().UTC().Add(30*time.Minute)) {
		t.Fatalf("applied: status %s for %q expires %s", applied.Status, applied.For, applied.ExpiresAt)
	}
	if !strings.Contains(applied.Notes, "approved for 30m, until "+applied.ExpiresAt.Format(time.RFC3339)) {
		t.Fatalf("the agent is told %q", applied.Notes)
	}
	if res := <-waiting; res.Status != schemas.ProposalApproved || !strings.Contains(res.Notes, "until") {
		t.Fatalf("the agent's call: %+v", res)
	}
	if len(timers.lims) != 1 || timers.lims[0] != 30*time.Minute {
		t.Fatalf("timers: %v", timers.lims)
	}
	dv, err := w.desk.Proposal(context.Background(), v.ID)
	if err != nil || dv.Decision == nil || dv.Decision.For != "30m" {
		t.Fatalf("the stored decision: %+v %v", dv.Decision, err)
	}
	if code := w.get(c, "https://pypi.org/simple/x"); code != 200 {
		t.Fatalf("within the limit: %d, want 200", code)
	}
	timers.fire(t, 0)
	x := w.routeExpired(v.ID)
	if x.Superseded || x.For != "30m" || !x.ExpiresAt.Equal(applied.ExpiresAt) || x.Route.Host != "pypi.org" ||
		len(x.After.Routes) != len(x.Before.Routes)-1 || !strings.Contains(x.Notes, "the route for pypi.org is removed") {
		t.Fatalf("route expired: %+v", x)
	}
	if code := w.get(c, "https://pypi.org/simple/x"); code != 403 {
		t.Fatalf("after the limit: %d, want 403", code)
	}
	if code := w.get(w.client(), "https://pypi.org/simple/x"); code != 403 {
		t.Fatalf("after the limit, a new connection: %d, want 403", code)
	}
	if code := w.get(c, "https://api.github.com/repos/myorg/a"); code != 200 {
		t.Fatalf("the manifest's route after the expiry: %d", code)
	}
}

func TestALaterDecisionTakesATimeLimitedRouteOver(t *testing.T) {
	w, timers := timedWorld(t)
	c := w.client()
	// A limited widening of the manifest's authenticated route: at expiry
	// the manifest's route comes back, credential and all.
	v1 := w.decidedFor(planner.RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/other/"}, Methods: []string{"GET"}},
		schemas.ActionModify, "10m", func(v View) *schemas.Route { return EditRoute(v, "", "") })
	if code := w.get(c, "https://api.github.com/repos/other/x"); code != 200 {
		t.Fatalf("widened: %d", code)
	}
	// A second limited approval on the same host inherits what to restore.
	v2 := w.decidedFor(planner.RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/orgs/"}, Methods: []string{"GET"}},
		schemas.ActionApprove, "20m", nil)
	timers.fire(t, 0) // the first one's time is up: superseded, nothing changes
	if x := w.routeExpired(v1.ID); !x.Superseded || !strings.Contains(x.Notes, "a later decision") {
		t.Fatalf("first expiry: %+v", x)
	}
	if code := w.get(c, "https://api.github.com/orgs/x"); code != 200 {
		t.Fatalf("the later decision's route after the earlier one's expiry: %d", code)
	}
	timers.fire(t, 1)
	if x := w.routeExpired(v2.ID); x.Superseded || !strings.Contains(x.Notes, "is back to api.github.com") {
		t.Fatalf("second expiry: %+v", x)
	}
	for path, want := range map[string]int{"/repos/other/x": 403, "/orgs/x": 403, "/repos/myorg/a": 200} {
		if code := w.get(c, "https://api.github.com"+path); code != want {
			t.Errorf("after both limits, %s: %d, want %d", path, code, want)
		}
	}
	rule := ruleFor(w.proxy.Routes(), "api.github.com", 0)
	if rule == nil || rule.Auth == nil {
		t.Fatalf("the manifest's route lost its credential: %+v", rule)
	}
}

func TestAPermanentDecisionOutlivesAnEarlierLimit(t *testing.T) {
	w, timers := timedWorld(t)
	c := w.client()
	v1 := w.decidedFor(planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}}, schemas.ActionApprove, "5m", nil)
	waiting := w.request(planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/packages/"}}, 30*time.Second)
	v2 := w.waitPending()
	if _, err := decide(w, v2.ID, schemas.ActionApprove, schemas.ScopeOnce, ""); err != nil {
		t.Fatal(err)
	}
	<-waiting
	timers.fire(t, 0)
	if x := w.routeExpired(v1.ID); !x.Superseded {
		t.Fatalf("expiry after a permanent decision: %+v", x)
	}
	if code := w.get(c, "https://pypi.org/packages/x"); code != 200 {
		t.Fatalf("the permanent route: %d", code)
	}
}

func TestATimeLimitEndsWithItsBottle(t *testing.T) {
	w, timers := timedWorld(t)
	v := w.decidedFor(planner.RouteRequest{Host: "pypi.org"}, schemas.ActionApprove, "5m", nil)
	w.owner.End(Ending{At: time.Now(), State: schemas.StateExited, Why: "exited with code 0"})
	routes := w.proxy.Routes().Digest()
	timers.fire(t, 0) // a timer that raced the end does nothing
	if w.proxy.Routes().Digest() != routes {
		t.Fatal("an expiry after the bottle ended reloaded its proxy")
	}
	if len(w.owner.grants) != 0 {
		t.Fatalf("grants after the end: %d", len(w.owner.grants))
	}
	// Nor does it tell anyone a route expired: the route died with the
	// bottle.
	if err := w.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	views, err := w.desk.Proposals(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pv := range views {
		if pv.ID == v.ID && pv.RouteExpired != nil {
			t.Fatalf("an expiry after the bottle ended was published: %+v", *pv.RouteExpired)
		}
	}
}

// TestTheOwnerRefusesAForgedTimeLimit: a decision written straight into
// the channel, past the desk's checks, with a limit out of bounds or on a
// refused push, is refused by the bottle's owner: no route, no grant, and
// the push stays refused.
func TestTheOwnerRefusesAForgedTimeLimit(t *testing.T) {
	w, timers := timedWorld(t)
	forge := func(d schemas.Decision) schemas.Applied {
		t.Helper()
		d.Bottle, d.DecidedBy = bottleID, schemas.DecidedByWeb
		ev, err := schemas.NewEvent(bottleID, schemas.KindDecision, d)
		if err != nil {
			t.Fatal(err)
		}
		w.bus.Publish(ev)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if v, err := w.desk.Proposal(context.Background(), d.ProposalID); err == nil && v.Applied != nil {
				return *v.Applied
			}
		}
		t.Fatalf("no applied for the forged decision on %s", d.ProposalID)
		return schemas.Applied{}
	}
	waiting := w.request(planner.RouteRequest{Host: "pypi.org"}, 30*time.Second)
	v := w.waitPending()
	a := forge(schemas.Decision{ProposalID: v.ID, Action: schemas.ActionApprove, Scope: schemas.ScopeOnce, For: "72h"})
	if a.Status != schemas.ProposalRefused || !strings.Contains(a.Notes, `for "72h" is longer than 24h`) || !a.ExpiresAt.IsZero() {
		t.Fatalf("a forged 72h limit: %+v", a)
	}
	if res := <-waiting; res.Status == schemas.ProposalApproved {
		t.Fatalf("the agent was told %+v", res)
	}
	if code := w.get(w.client(), "https://pypi.org/simple/x"); code != 403 {
		t.Fatalf("after a refused forged limit: %d, want 403", code)
	}
	commit := strings.Repeat("d", 40)
	id, err := w.owner.ProposePush(context.Background(), schemas.PushReview{Repo: "app", URL: "https://git.example.test/org/app.git",
		Refs: []string{"refs/heads/main"}, Commits: []string{commit}, Findings: []schemas.GitFinding{{Rule: "aws-access-token", Commit: commit, File: "a", Line: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	a = forge(schemas.Decision{ProposalID: id, Action: schemas.ActionApprove, Scope: schemas.ScopeOnce, For: "30m"})
	if a.Status != schemas.ProposalRefused || !strings.Contains(a.Notes, "adds no route to limit in time") {
		t.Fatalf("a forged limit on a push: %+v", a)
	}
	if status, _, err := w.owner.PushStatus(context.Background(), id); err != nil || status != schemas.ProposalPending {
		t.Fatalf("the push after a forged limit: %s %v, want pending", status, err)
	}
	w.owner.mu.Lock()
	grants := len(w.owner.grants)
	w.owner.mu.Unlock()
	if grants != 0 || len(timers.lims) != 0 {
		t.Fatalf("grants %d, timers %v after refused limits", grants, timers.lims)
	}
}
