package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

var agentTools = []string{"list_egress_routes", "proposal_status", "recent_denials", "request_egress"}

// TestAgentSurfaceStaysInsideItsBottle: two bottles of one owner, each
// agent on its own socket. Neither reaches the other's proposals or
// denials, nothing decides, and arguments that name a bottle or carry auth
// are refused by the schema.
func TestAgentSurfaceStaysInsideItsBottle(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{agentWait: 100 * time.Millisecond})
	a := w.launch("sh", "-c", deniedScript)
	b := w.launch("sleep", "300")
	agA, agB := agent(t, a.Info().RunDir), agent(t, b.Info().RunDir)
	ctx := context.Background()

	tools, err := agB.ListTools(ctx, nil)
	must(t, err)
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
		schema, _ := json.Marshal(tl.InputSchema)
		if !strings.Contains(string(schema), `"additionalProperties":false`) {
			t.Errorf("%s: open input schema %s", tl.Name, schema)
		}
		if strings.Contains(string(schema), `"bottle"`) || strings.Contains(string(schema), `"auth"`) {
			t.Errorf("%s: an agent tool takes a bottle or auth: %s", tl.Name, schema)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, agentTools) {
		t.Fatalf("agent tools %v, want %v", names, agentTools)
	}

	// A's proposal is A's alone.
	pa := sdkOK[review.Result](t, sdkCall(t, agA, "request_egress", map[string]any{"host": "pypi.example.com", "justification": "pip"}))
	if pa.Status != schemas.ProposalPending || pa.ProposalID == "" {
		t.Fatalf("A's request: %+v", pa)
	}
	st := sdkCall(t, agB, "proposal_status", map[string]any{"id": pa.ProposalID, "wait_seconds": 0})
	if !st.IsError || !strings.Contains(sdkText(st), "unknown proposal") {
		t.Fatalf("B read A's proposal: %s", sdkText(st))
	}
	if st := sdkOK[review.Result](t, sdkCall(t, agA, "proposal_status", map[string]any{"id": pa.ProposalID, "wait_seconds": 0})); st.Status != schemas.ProposalPending {
		t.Fatalf("A's own status: %+v", st)
	}

	// Nothing on the agent surface decides, by any name.
	for _, name := range []string{"egress_decide", "bottle_list", "bottle_stop", "approve"} {
		if _, err := agB.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: map[string]any{"proposal_id": pa.ProposalID, "action": "approve"}}); err == nil ||
			!strings.Contains(err.Error(), "not found") {
			t.Errorf("%s on the agent surface: %v", name, err)
		}
	}
	// Arguments beyond the schema are refused, not ignored.
	for _, args := range []map[string]any{
		{"host": "pypi.example.com", "justification": "x", "bottle": a.ID()},
		{"host": "pypi.example.com", "justification": "x", "auth": map[string]any{"scheme": "Bearer", "token_ref": "GH_TOKEN"}},
		{"host": "pypi.example.com", "justification": "x", "scope": "persist"},
	} {
		res := sdkCall(t, agB, "request_egress", args)
		if !res.IsError || !strings.Contains(sdkText(res), "unknown argument") {
			t.Errorf("request_egress %v: %s", args, sdkText(res))
		}
	}
	if res := sdkCall(t, agB, "proposal_status", map[string]any{"id": pa.ProposalID, "bottle": a.ID()}); !res.IsError {
		t.Errorf("proposal_status with a bottle: %s", sdkText(res))
	}
	// What a bottle is never granted is refused with the reason.
	for host, want := range map[string]string{"169.254.169.254": "IP", "metadata.google.internal": "metadata", "localhost": "machine itself"} {
		res := sdkCall(t, agB, "request_egress", map[string]any{"host": host, "justification": "x"})
		if !res.IsError || !strings.Contains(sdkText(res), want) {
			t.Errorf("request_egress %s: %s", host, sdkText(res))
		}
	}
	// Still pending: no path through B's surface touched it.
	v, err := w.ctl.Desk().Proposal(ctx, pa.ProposalID)
	must(t, err)
	if v.Status != schemas.ProposalPending || v.Bottle != a.ID() {
		t.Fatalf("A's proposal after B's attempts: %+v", v)
	}

	// Denials and routes are each bottle's own.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds := sdkOK[mcp.AgentDenials](t, sdkCall(t, agA, "recent_denials", nil))
		if len(ds.Denials) == 1 {
			if ds.Denials[0].Bottle != a.ID() || ds.Denials[0].Hint == "" {
				t.Fatalf("A's denials: %+v", ds)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's denial never showed: %+v", ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ds := sdkOK[mcp.AgentDenials](t, sdkCall(t, agB, "recent_denials", map[string]any{"limit": 100})); len(ds.Denials) != 0 {
		t.Fatalf("B sees denials: %+v", ds)
	}
	routes := sdkCall(t, agB, "list_egress_routes", nil)
	rs := sdkOK[mcp.AgentRoutes](t, routes)
	if len(rs.Routes.Routes) != 1 || rs.Routes.Routes[0].Host != "allowed.test" {
		t.Fatalf("B's routes: %+v", rs)
	}
	raw, _ := json.Marshal(routes)
	w.noSecret("list_egress_routes", string(raw))
}

// TestAgentSurfaceBoundsRequestsInFlight: an agent that piles up waiting
// calls gets 429 past the bound; another bottle is not affected, and the
// bound frees as calls return.
func TestAgentSurfaceBoundsRequestsInFlight(t *testing.T) {
	requireLocal(t)
	const bound = 3
	w := newWorld(t, worldOptions{agentWait: 50 * time.Millisecond, agentInflight: bound})
	a, b := w.launch("sleep", "300"), w.launch("sleep", "300")
	agA, agB := agent(t, a.Info().RunDir), agent(t, b.Info().RunDir)
	pa := sdkOK[review.Result](t, sdkCall(t, agA, "request_egress", map[string]any{"host": "pypi.example.com", "justification": "pip"}))

	// bound waiting calls, each on a session of its own (the official
	// SDK's client sends one request at a time until headers come back),
	// fill A's slots; each says it is in by its first progress.
	done := make(chan error, bound)
	inFlight := make(chan struct{}, bound)
	for i := range bound {
		waiter := agentWith(t, a.Info().RunDir, sdk.NewClient(&sdk.Implementation{Name: "waiter", Version: "0"}, &sdk.ClientOptions{
			ProgressNotificationHandler: func(context.Context, *sdk.ProgressNotificationClientRequest) { inFlight <- struct{}{} },
		}))
		params := &sdk.CallToolParams{Name: "proposal_status", Arguments: map[string]any{"id": pa.ProposalID, "wait_seconds": 30}}
		params.SetProgressToken(fmt.Sprintf("w%d", i))
		go func() {
			_, err := waiter.CallTool(context.Background(), params)
			done <- err
		}()
		select {
		case <-inFlight:
		case err := <-done:
			t.Fatalf("waiting call %d returned: %v", i, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("waiting call %d never started", i)
		}
	}
	_, err := agA.CallTool(context.Background(), &sdk.CallToolParams{Name: "list_egress_routes", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "Too Many Requests") {
		t.Fatalf("with %d calls in flight: %v", bound, err)
	}
	// ...not B's.
	sdkOK[mcp.AgentRoutes](t, sdkCall(t, agB, "list_egress_routes", nil))
	// A decision returns the waiting calls and frees the slots.
	must(t, w.bus.Flush(context.Background()))
	_, err = w.ctl.Desk().Decide(context.Background(), schemas.Decision{ProposalID: pa.ProposalID, Action: schemas.ActionDeny, DecidedBy: schemas.DecidedByCLI}, time.Minute)
	must(t, err)
	for range bound {
		if err := <-done; err != nil {
			t.Fatalf("a waiting call: %v", err)
		}
	}
	sdkOK[mcp.AgentRoutes](t, sdkCall(t, agA, "list_egress_routes", nil))
}

// TestAgentWaitReportsProgress: a client that asks for progress hears that
// its request still waits, and meanwhile can call other tools on the same
// session.
func TestAgentWaitReportsProgress(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{agentWait: time.Minute})
	b := w.launch("sleep", "300")
	progress := make(chan string, 16)
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "0"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) { progress <- r.Params.Message },
	})
	ag := agentWith(t, b.Info().RunDir, c)
	params := &sdk.CallToolParams{Name: "request_egress", Arguments: map[string]any{"host": "pypi.example.com", "justification": "pip"}}
	params.SetProgressToken("tok-1")
	asked := make(chan review.Result, 1)
	go func() {
		res, err := ag.CallTool(context.Background(), params)
		if err != nil {
			t.Errorf("request_egress: %v", err)
			close(asked)
			return
		}
		asked <- sdkOK[review.Result](t, res)
	}()
	var msg string
	select {
	case msg = <-progress:
	case <-time.After(30 * time.Second):
		t.Fatal("no progress while waiting")
	}
	if !strings.Contains(msg, "waiting for a person to decide on proposal p-") {
		t.Fatalf("progress: %q", msg)
	}
	// The same session is free for other calls while the first waits.
	sdkOK[mcp.AgentRoutes](t, sdkCall(t, ag, "list_egress_routes", nil))
	id := strings.TrimPrefix(msg, "waiting for a person to decide on proposal ")
	must(t, w.bus.Flush(context.Background())) // the desk reads the proposal from the store
	if _, err := w.ctl.Desk().Decide(context.Background(), schemas.Decision{ProposalID: id, Action: schemas.ActionDeny, Reason: "no", DecidedBy: schemas.DecidedByCLI}, time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-asked:
		if r.Status != schemas.ProposalDenied {
			t.Fatalf("after the decision: %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting call did not return")
	}
}

// TestAgentWaitFollowsTheCLI: a codex bottle's request_egress answers
// pending before Codex would hand the call back to the model as still
// running (planner.ToolCallWait), however long the server would wait, and
// the answer says how to keep waiting; proposal_status is bounded the same
// way.
func TestAgentWaitFollowsTheCLI(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{agentWait: 10 * time.Minute})
	must(t, os.WriteFile(filepath.Join(w.home, "bottles", "codexy.yaml"), []byte("agent_provider: {template: codex, command: [sleep, '300']}\n"), 0o644))
	b, err := w.ctl.Launch(context.Background(), launcher.Options{Name: "codexy", Workdir: w.workdir})
	must(t, err)
	ag := agentWith(t, b.Info().RunDir, sdk.NewClient(&sdk.Implementation{Name: "codex", Version: "0"}, nil))
	start := time.Now()
	res := sdkCall(t, ag, "request_egress", map[string]any{"host": "pypi.example.com", "justification": "pip"})
	waited := time.Since(start)
	r := sdkOK[review.Result](t, res)
	text := sdkText(res)
	if r.Status != schemas.ProposalPending {
		t.Fatalf("request_egress: %+v", r)
	}
	limit := planner.ToolCallWait(schemas.TemplateCodex)
	if waited >= 2*limit { // the server's own wait is 10 minutes: anything near it means no bound
		t.Errorf("request_egress waited %s; codex's bound is %s", waited, limit)
	}
	for _, want := range []string{"to keep waiting, call proposal_status", r.ProposalID, "up to 25s"} {
		if !strings.Contains(text, want) {
			t.Errorf("pending answer lacks %q: %q", want, text)
		}
	}
	t.Logf("request_egress answered pending after %s (bound %s, server wait 10m)", waited.Round(time.Millisecond), limit)
	// The desk tells the person the same bound, not the server's wait.
	views, err := w.ctl.Desk().Proposals(context.Background(), review.Filter{Bottle: b.ID()})
	must(t, err)
	if len(views) != 1 {
		t.Fatalf("the desk has %d proposals of the bottle, want 1", len(views))
	}
	if views[0].WaitUntil.IsZero() || views[0].WaitUntil.Sub(views[0].Time) > limit {
		t.Errorf("the desk says the agent waits until %v (asked %v); codex's bound is %s", views[0].WaitUntil, views[0].Time, limit)
	}
	res = sdkCall(t, ag, "proposal_status", map[string]any{"id": r.ProposalID, "wait_seconds": 300})
	if st := sdkOK[review.Result](t, res); st.Status != schemas.ProposalPending || !strings.Contains(sdkText(res), "up to 25s") {
		t.Errorf("proposal_status asked for 300 s: %+v %q", st, sdkText(res))
	}
}
