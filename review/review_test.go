package review

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

const baseManifest = `egress:
  routes:
    # authenticated, read only
    - host: api.github.com
      path_allowlist: [/repos/myorg/]
      methods: [GET]
      auth: { scheme: Bearer, token_ref: GH_TOKEN }
`

func decide(w *world, id, action, scope, reason string) (*schemas.Applied, error) {
	return w.desk.Decide(context.Background(), schemas.Decision{ProposalID: id, Action: action, Scope: scope,
		Reason: reason, DecidedBy: schemas.DecidedByCLI}, 10*time.Second)
}

func TestApproveOnceReloadsTheLiveProxy(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	c := w.client()
	if code := w.get(c, "https://pypi.org/simple/x"); code != 403 {
		t.Fatalf("before approval: %d, want 403", code)
	}
	// A keep-alive connection to an allowed host opened before the reload.
	if code := w.get(c, "https://api.github.com/repos/myorg/a"); code != 200 {
		t.Fatalf("allowed host: %d", code)
	}
	waiting := w.request(planner.RouteRequest{Host: "PyPI.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET"}}, 30*time.Second)
	v := w.waitPending()
	if v.Bottle != bottleID || v.Delta != "new host pypi.org; paths +/simple/; methods +GET" || v.Justification != "need it for the build" {
		t.Fatalf("proposal as the desk sees it: %+v", v)
	}
	applied, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopeOnce, "fine")
	if err != nil {
		t.Fatal(err)
	}
	if applied.Status != schemas.ProposalApproved || applied.Before == nil || applied.After == nil ||
		len(applied.After.Routes) != len(applied.Before.Routes)+1 {
		t.Fatalf("applied: %+v", applied)
	}
	res := <-waiting
	if res.Status != schemas.ProposalApproved || res.ProposalID != v.ID || res.Route == nil || res.Route.Host != "pypi.org" {
		t.Fatalf("the agent's waiting call returned %+v", res)
	}
	if code := w.get(c, "https://pypi.org/simple/x"); code != 200 {
		t.Fatalf("after approval: %d, want 200", code)
	}
	if code := w.get(c, "https://pypi.org/other"); code != 403 {
		t.Fatalf("outside the approved prefix: %d, want 403", code)
	}
	if code := w.get(c, "https://api.github.com/repos/myorg/b"); code != 200 {
		t.Fatalf("the connection opened before the reload: %d", code)
	}
	// Scope once never touches the manifest.
	if b, _ := os.ReadFile(filepath.Join(planner.BottlesDir(w.home), "main.yaml")); string(b) != baseManifest {
		t.Fatalf("manifest changed:\n%s", b)
	}
	// Deciding twice is refused, and says what happened.
	if _, err := decide(w, v.ID, schemas.ActionDeny, "", ""); !errors.Is(err, ErrNotPending) || !strings.Contains(err.Error(), "approved by cli") {
		t.Fatalf("second decision: %v", err)
	}
}

func TestDenyTellsTheAgentWhy(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	waiting := w.request(planner.RouteRequest{Host: "files.example.com"}, 30*time.Second)
	v := w.waitPending()
	applied, err := decide(w, v.ID, schemas.ActionDeny, "", "use the internal mirror")
	if err != nil {
		t.Fatal(err)
	}
	res := <-waiting
	if applied.Status != schemas.ProposalDenied || res.Status != schemas.ProposalDenied || !strings.Contains(res.Notes, "use the internal mirror") {
		t.Fatalf("applied %+v, agent got %+v", applied, res)
	}
	if len(w.proxy.Routes().Routes) != 1 {
		t.Fatal("deny changed the table")
	}
}

func TestPendingThenStatus(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	res, err := w.owner.Request(context.Background(), planner.RouteRequest{Host: "files.example.com"}, "x", []string{"d-1"}, 50*time.Millisecond)
	if err != nil || res.Status != schemas.ProposalPending || res.ProposalID == "" {
		t.Fatalf("%+v %v", res, err)
	}
	// The operator learns the id from the store, which the proposal reaches
	// through the bus; wait for it there, as a desk would see it.
	if v := w.waitPending(); v.ID != res.ProposalID {
		t.Fatalf("pending %s, want %s", v.ID, res.ProposalID)
	}
	if _, err := decide(w, res.ProposalID, schemas.ActionApprove, schemas.ScopeOnce, ""); err != nil {
		t.Fatal(err)
	}
	st, err := w.owner.Status(context.Background(), res.ProposalID, 5*time.Second)
	if err != nil || st.Status != schemas.ProposalApproved {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := w.owner.Status(context.Background(), "p-notmine", 0); !errors.Is(err, ErrUnknownProposal) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestIdenticalPendingProposalsMerge(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	ctx := context.Background()
	a, _ := w.owner.Request(ctx, planner.RouteRequest{Host: "pypi.org", Methods: []string{"GET", "HEAD"}}, "one", []string{"d-1"}, 0)
	b, _ := w.owner.Request(ctx, planner.RouteRequest{Host: "PYPI.org.", Methods: []string{"HEAD", "GET"}}, "two", []string{"d-2"}, 0)
	if a.ProposalID == "" || a.ProposalID != b.ProposalID {
		t.Fatalf("not merged: %s %s", a.ProposalID, b.ProposalID)
	}
	p := w.owner.Pending()
	if len(p) != 1 || p[0].Count != 2 || len(p[0].DenialIDs) != 2 {
		t.Fatalf("pending: %+v", p)
	}
	// A different request is a different proposal.
	c, _ := w.owner.Request(ctx, planner.RouteRequest{Host: "pypi.org", Methods: []string{"GET"}}, "three", nil, 0)
	if c.ProposalID == a.ProposalID {
		t.Fatal("merged a different request")
	}
}

func TestProposalFloodIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, baseManifest, Limits{Burst: 3, Every: time.Minute, MaxPending: 5})
	w.owner.cfg.Now = func() time.Time { return now }
	w.owner.limit.now = w.owner.cfg.Now
	made, limited := 0, 0
	for i := 0; i < 50; i++ {
		_, err := w.owner.Request(context.Background(), planner.RouteRequest{Host: "h" + strconv.Itoa(i) + ".example.com"}, "flood", nil, 0)
		var rl *RateLimitError
		switch {
		case err == nil:
			made++
		case errors.As(err, &rl):
			limited++
			if !strings.Contains(err.Error(), "try again in") {
				t.Fatalf("the agent is not told when to retry: %v", err)
			}
		default:
			t.Fatal(err)
		}
	}
	if made != 3 || limited != 47 {
		t.Fatalf("made %d, limited %d; want 3 and 47", made, limited)
	}
	now = now.Add(10 * time.Minute) // the bucket refills, but only to the pending bound
	for i := 0; i < 10; i++ {
		w.owner.Request(context.Background(), planner.RouteRequest{Host: "later" + strconv.Itoa(i) + ".example.com"}, "flood", nil, 0)
	}
	if n := len(w.owner.Pending()); n != 5 {
		t.Fatalf("%d pending, want the bound 5", n)
	}
}

func TestApprovalsGiveTheirTokenBack(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, baseManifest, Limits{Burst: 2, Every: time.Hour, MaxPending: 5})
	w.owner.cfg.Now = func() time.Time { return now }
	w.owner.limit.now = w.owner.cfg.Now
	ctx := context.Background()
	// An agent that works through a task with its operator: ask, approved,
	// ask again, many times over, with the clock standing still.
	for i := 0; i < 6; i++ {
		res, err := w.owner.Request(ctx, planner.RouteRequest{Host: "ok" + strconv.Itoa(i) + ".example.com"}, "task", nil, 0)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		must(t, w.bus.Flush(ctx)) // the operator sees what is stored
		if _, err := decide(w, res.ProposalID, schemas.ActionApprove, schemas.ScopeOnce, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Denials give nothing back: two denied proposals use up the bucket.
	for i := 0; i < 2; i++ {
		res, err := w.owner.Request(ctx, planner.RouteRequest{Host: "no" + strconv.Itoa(i) + ".example.com"}, "task", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		must(t, w.bus.Flush(ctx))
		if _, err := decide(w, res.ProposalID, schemas.ActionDeny, "", "no"); err != nil {
			t.Fatal(err)
		}
	}
	var rl *RateLimitError
	if _, err := w.owner.Request(ctx, planner.RouteRequest{Host: "more.example.com"}, "task", nil, 0); !errors.As(err, &rl) {
		t.Fatalf("after two denials: %v", err)
	}
}

func TestStaleDecisionIsRefused(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	waiting := w.request(planner.RouteRequest{Host: "pypi.org"}, 30*time.Second)
	v := w.waitPending()
	// The table changes under the proposal (another decision, a reload).
	next := w.proxy.Routes()
	next.Routes = append(next.Routes, schemas.RouteRule{Host: "other.example.com"})
	if err := w.proxy.Reload(next, "api"); err != nil {
		t.Fatal(err)
	}
	applied, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopeOnce, "")
	if err != nil {
		t.Fatal(err)
	}
	res := <-waiting
	if applied.Status != schemas.ProposalRefused || !strings.Contains(applied.Notes, "stale") || res.Status != schemas.ProposalRefused {
		t.Fatalf("applied %+v, agent %+v", applied, res)
	}
	for _, r := range w.proxy.Routes().Routes {
		if r.Host == "pypi.org" {
			t.Fatal("a stale decision was applied")
		}
	}
}

func TestDecisionOnStoppedBottleIsRefused(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	w.request(planner.RouteRequest{Host: "pypi.org"}, 0)
	v := w.waitPending()
	w.running[bottleID] = false
	_, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopeOnce, "")
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrBottleGone) || !strings.Contains(err.Error(), "expired: the bottle ended at") {
		t.Fatalf("err = %v", err)
	}
	if _, err := decide(w, "p-nope", schemas.ActionApprove, schemas.ScopeOnce, ""); !errors.Is(err, ErrUnknownProposal) {
		t.Fatalf("unknown proposal: %v", err)
	}
}

func TestDecisionWhileOwnerIsNotFollowingIsNotLost(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	waiting := w.request(planner.RouteRequest{Host: "pypi.org"}, 30*time.Second)
	v := w.waitPending()
	w.stopOwner() // the owner's follower restarts (reconnect, restart of its loop)
	ev, _ := schemas.NewEvent(bottleID, schemas.KindDecision, schemas.Decision{ProposalID: v.ID, Bottle: bottleID,
		Action: schemas.ActionApprove, Scope: schemas.ScopeOnce, DecidedBy: schemas.DecidedByWeb})
	w.bus.Publish(ev)
	if err := w.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-waiting:
		t.Fatalf("applied with no follower: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	w.startOwner()
	if res := <-waiting; res.Status != schemas.ProposalApproved {
		t.Fatalf("after the owner follows again: %+v", res)
	}
}

func TestPersistWritesTheManifestAndKeepsCredentials(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	// Widen the authenticated route: the manifest must keep its auth.
	waiting := w.request(planner.RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/other/"}, Methods: []string{"GET"}}, 30*time.Second)
	v := w.waitPending()
	applied, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopePersist, "")
	if err != nil {
		t.Fatal(err)
	}
	if res := <-waiting; res.Status != schemas.ProposalApproved {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(applied.Diff, "+      path_allowlist: [/repos/myorg/, /repos/other/]") {
		t.Fatalf("diff:\n%s", applied.Diff)
	}
	b, _ := os.ReadFile(filepath.Join(planner.BottlesDir(w.home), "main.yaml"))
	if !strings.Contains(string(b), "auth: { scheme: Bearer, token_ref: GH_TOKEN }") || strings.Contains(string(b), "ghp_") {
		t.Fatalf("manifest lost its credential reference or holds a token:\n%s", b)
	}
	// A new launch (a new plan) has the route.
	plan, err := (&planner.Planner{Home: w.home}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Routes[0]; got.Host != "api.github.com" || len(got.PathAllowlist) != 2 || got.Auth == nil {
		t.Fatalf("replanned route: %+v", got)
	}
	// The live route kept its slot.
	for _, r := range w.proxy.Routes().Routes {
		if r.Host == "api.github.com" && (r.Auth == nil || r.Auth.Slot != "EGRESS_TOKEN_0") {
			t.Fatalf("live auth changed: %+v", r)
		}
	}
}

func TestModifyAuthNeedsPersistAndNeverGoesLive(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	w.request(planner.RouteRequest{Host: "files.example.com"}, 0)
	v := w.waitPending()
	route := &schemas.Route{Host: "files.example.com", Methods: []string{"GET"}, Auth: &schemas.Auth{Scheme: "Bearer", TokenRef: "FILES_TOKEN"}}
	dec := schemas.Decision{ProposalID: v.ID, Action: schemas.ActionModify, Scope: schemas.ScopeOnce, Route: route, DecidedBy: schemas.DecidedByMCP}
	if _, err := w.desk.Decide(context.Background(), dec, 5*time.Second); err == nil || !strings.Contains(err.Error(), "needs scope persist") {
		t.Fatalf("modify with auth, scope once: %v", err)
	}
	bad := *route
	bad.Auth = &schemas.Auth{Scheme: "Bearer", TokenRef: "ghp_pastedTokenValue"}
	dec.Scope, dec.Route = schemas.ScopePersist, &bad
	if _, err := w.desk.Decide(context.Background(), dec, 5*time.Second); err == nil || strings.Contains(err.Error(), "ghp_") {
		t.Fatalf("a token value as token_ref: %v", err)
	}
	dec.Route = route
	applied, err := w.desk.Decide(context.Background(), dec, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Status != schemas.ProposalApproved || !strings.Contains(applied.Notes, "next launch") {
		t.Fatalf("%+v", applied)
	}
	for _, r := range w.proxy.Routes().Routes {
		if r.Host == "files.example.com" {
			t.Fatal("a new credential went live without a launch")
		}
	}
	b, _ := os.ReadFile(filepath.Join(planner.BottlesDir(w.home), "main.yaml"))
	if !strings.Contains(string(b), "token_ref: FILES_TOKEN") {
		t.Fatalf("manifest:\n%s", b)
	}
}

func TestModifyOnceReplacesTheProposedRoute(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	waiting := w.request(planner.RouteRequest{Host: "pypi.org"}, 30*time.Second)
	v := w.waitPending()
	dec := schemas.Decision{ProposalID: v.ID, Action: schemas.ActionModify, Scope: schemas.ScopeOnce, DecidedBy: schemas.DecidedByMCP,
		Route: &schemas.Route{Host: "pypi.org", PathAllowlist: []string{"/simple/"}, Methods: []string{"GET"}}}
	if _, err := w.desk.Decide(context.Background(), dec, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	res := <-waiting
	if res.Status != schemas.ProposalApproved || res.Route == nil || len(res.Route.PathAllowlist) != 1 {
		t.Fatalf("%+v", res)
	}
	c := w.client()
	if w.get(c, "https://pypi.org/simple/a") != 200 || w.get(c, "https://pypi.org/packages/a") != 403 {
		t.Fatal("modified route not enforced")
	}
}

func TestRequestValidation(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	ctx := context.Background()
	for req, want := range map[string]string{
		"127.0.0.1":                "IP literals",
		"localhost":                "names the machine itself",
		"metadata.google.internal": "names the machine itself",
		"egress.bottle.internal":   "names the machine itself",
	} {
		if _, err := w.owner.Request(ctx, planner.RouteRequest{Host: req}, "x", nil, 0); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", req, err)
		}
	}
	if _, err := w.owner.Request(ctx, planner.RouteRequest{Host: "pypi.org"}, "  ", nil, 0); err == nil {
		t.Error("empty justification accepted")
	}
	if _, err := w.owner.Request(ctx, planner.RouteRequest{Host: "pypi.org"}, "x", []string{"d-1\x1b[2J"}, 0); err == nil {
		t.Error("a denial id with control characters accepted")
	}
	res, err := w.owner.Request(ctx, planner.RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/myorg/x"}, Methods: []string{"GET"}}, "x", nil, 0)
	if err != nil || res.Status != StatusAlreadyAllowed {
		t.Fatalf("already allowed: %+v %v", res, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A route that allows WebSocket keeps it through an approval that widens
// it, live and in the manifest, as it keeps its credential.
func TestApprovalKeepsWebSocketWithTheCredential(t *testing.T) {
	w := newWorld(t, strings.Replace(baseManifest, "GH_TOKEN }\n", "GH_TOKEN }\n      websocket: true\n", 1), Limits{})
	waiting := w.request(planner.RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/other/"}, Methods: []string{"GET"}}, 30*time.Second)
	v := w.waitPending()
	if _, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopePersist, ""); err != nil {
		t.Fatal(err)
	}
	if res := <-waiting; res.Status != schemas.ProposalApproved {
		t.Fatalf("%+v", res)
	}
	for _, r := range w.proxy.Routes().Routes {
		if r.Host == "api.github.com" && (!r.WebSocket || r.Auth == nil) {
			t.Fatalf("live route lost websocket or auth: %+v", r)
		}
	}
	plan, err := (&planner.Planner{Home: w.home}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Routes[0]; got.Host != "api.github.com" || !got.WebSocket || got.Auth == nil || len(got.PathAllowlist) != 2 {
		t.Fatalf("replanned route: %+v", got)
	}
}
