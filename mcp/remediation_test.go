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

	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// deniedScript is a bottle command: one request the proxy refuses, then
// idle until stopped.
const deniedScript = "curl -s --max-time 20 http://pypi.example.com/simple/x; echo; exec sleep 300"

// TestRemediationOverMCP is the loop on real parts in one process: a curl
// in a bottle is denied by its proxy; the operator hears of it; the agent
// asks through its bottle's socket with the official Go SDK; the operator
// decides with mcp-go's client; the agent's waiting call returns and the
// live table has the route.
func TestRemediationOverMCP(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{agentWait: time.Minute})
	c, n := w.operator()
	ctx := context.Background()
	must(t, c.Subscribe(ctx, mcpgo.SubscribeRequest{Params: mcpgo.SubscribeParams{URI: mcp.DenialsURI}}))
	must(t, c.Subscribe(ctx, mcpgo.SubscribeRequest{Params: mcpgo.SubscribeParams{URI: mcp.ProposalsURI}}))

	b := w.launch("sh", "-c", deniedScript)
	must(t, c.Subscribe(ctx, mcpgo.SubscribeRequest{Params: mcpgo.SubscribeParams{URI: mcp.RoutesURI(b.ID())}}))

	// The denial reaches the operator: a resource update and a log line.
	n.wait(t, "egress://denials updated", isUpdated(mcp.DenialsURI))
	logged := n.wait(t, "denial logged", isLog("denial"))
	if fmt.Sprint(logged.Params.AdditionalFields["level"]) != string(mcpgo.LoggingLevelWarning) {
		t.Errorf("denial log level: %v", logged.Params.AdditionalFields["level"])
	}
	denials, text := ok[mcp.Denials](t, c, "egress_denials", map[string]any{"bottle": b.ID(), "host": "PyPI.example.com."})
	if len(denials.Denials) != 1 || denials.Denials[0].Bottle != b.ID() || denials.Denials[0].Path != "/simple/x" || denials.Denials[0].ID == "" {
		t.Fatalf("denials: %+v", denials)
	}
	if !strings.Contains(text, denials.Denials[0].ID) {
		t.Errorf("denials text: %s", text)
	}
	denialID := denials.Denials[0].ID

	// The agent asks from inside; its call waits for the decision.
	ag := agent(t, b.Info().RunDir)
	asked := make(chan review.Result, 1)
	go func() {
		res, err := ag.CallTool(ctx, &sdk.CallToolParams{Name: "request_egress", Arguments: map[string]any{
			"host": "pypi.example.com", "path_prefixes": []string{"/simple/"}, "methods": []string{"GET"},
			"justification": "pip install needs the index", "denial_id": denialID,
		}})
		if err != nil {
			t.Errorf("request_egress: %v", err)
			close(asked)
			return
		}
		var r review.Result
		data, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(data, &r)
		asked <- r
	}()

	proposed := n.wait(t, "proposal logged", isLog("proposal"))
	if lvl := fmt.Sprint(proposed.Params.AdditionalFields["level"]); lvl != string(mcpgo.LoggingLevelNotice) {
		t.Errorf("proposal log level: %v", lvl)
	}
	n.wait(t, "egress://proposals updated", isUpdated(mcp.ProposalsURI))
	props, _ := ok[mcp.Proposals](t, c, "egress_proposals", map[string]any{"status": "pending"})
	if len(props.Proposals) != 1 {
		t.Fatalf("pending: %+v", props)
	}
	p := props.Proposals[0]
	if p.Bottle != b.ID() || p.Justification != "pip install needs the index" || !slices.Contains(p.DenialIDs, denialID) ||
		p.Delta != "new host pypi.example.com; paths +/simple/; methods +GET" {
		t.Fatalf("proposal: %+v", p)
	}

	applied, text := ok[schemas.Applied](t, c, "egress_decide", map[string]any{"proposal_id": p.ID, "action": "approve", "scope": "once", "reason": "ok for the build"})
	if applied.Status != schemas.ProposalApproved || applied.DecidedBy != schemas.DecidedByMCP || applied.Route == nil ||
		applied.Before == nil || applied.After == nil || len(applied.After.Routes) != 2 {
		t.Fatalf("applied: %+v", applied)
	}
	if !strings.Contains(text, "approved") {
		t.Errorf("decide text: %s", text)
	}
	select {
	case r := <-asked:
		if r.Status != schemas.ProposalApproved || r.Route == nil || r.Route.Host != "pypi.example.com" {
			t.Fatalf("the agent's call returned %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent's call did not return after the decision")
	}
	n.wait(t, "bottle routes updated", isUpdated(mcp.RoutesURI(b.ID())))
	routes, _ := ok[mcp.Routes](t, c, "egress_routes", map[string]any{"bottle": b.ID()})
	if len(routes.Routes.Routes) != 2 || routes.Routes.Routes[1].Host != "pypi.example.com" {
		t.Fatalf("live routes after approval: %+v", routes.Routes)
	}
	// The owner's copy for other processes follows the reload.
	rr, err := c.ReadResource(ctx, mcpgo.ReadResourceRequest{Params: mcpgo.ReadResourceParams{URI: mcp.RoutesURI(b.ID())}})
	must(t, err)
	if txt := rr.Contents[0].(mcpgo.TextResourceContents).Text; !strings.Contains(txt, "pypi.example.com") {
		t.Errorf("routes resource: %s", txt)
	}

	// Deciding twice is refused and says what happened.
	if m := toolErr(t, c, "egress_decide", map[string]any{"proposal_id": p.ID, "action": "deny"}); !strings.Contains(m, "already decided") || !strings.Contains(m, "approved by mcp") {
		t.Errorf("second decision: %s", m)
	}
	decided, _ := ok[mcp.Proposals](t, c, "egress_proposals", map[string]any{"bottle": b.ID()})
	if len(decided.Proposals) != 1 || decided.Proposals[0].Status != schemas.ProposalApproved || decided.Proposals[0].Applied == nil {
		t.Fatalf("decided: %+v", decided)
	}

	// The resources answer too.
	for _, uri := range []string{mcp.DenialsURI, mcp.ProposalsURI, mcp.PlanURI(b.ID())} {
		rr, err := c.ReadResource(ctx, mcpgo.ReadResourceRequest{Params: mcpgo.ReadResourceParams{URI: uri}})
		must(t, err)
		txt := rr.Contents[0].(mcpgo.TextResourceContents).Text
		w.noSecret(uri, txt)
		if !json.Valid([]byte(txt)) || !strings.Contains(txt, b.ID()) && uri != mcp.PlanURI(b.ID()) {
			t.Errorf("%s: %s", uri, txt)
		}
	}
	if _, err := c.ReadResource(ctx, mcpgo.ReadResourceRequest{Params: mcpgo.ReadResourceParams{URI: mcp.PlanURI("demo-zzzzzz")}}); err == nil || !strings.Contains(err.Error(), "resource not found") {
		t.Errorf("plan of an unknown bottle: %v", err)
	}
}

// TestDenyReachesTheAgent: a denial's reason is what the agent reads.
func TestDenyReachesTheAgent(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{agentWait: 100 * time.Millisecond})
	c, _ := w.operator()
	b := w.launch("sleep", "300")
	ag := agent(t, b.Info().RunDir)
	res := sdkOK[review.Result](t, sdkCall(t, ag, "request_egress", map[string]any{"host": "files.example.com", "justification": "download a fixture"}))
	if res.Status != schemas.ProposalPending || res.ProposalID == "" {
		t.Fatalf("request with a short wait: %+v", res)
	}
	must(t, w.bus.Flush(context.Background())) // the desk reads proposals from the store
	applied, _ := ok[schemas.Applied](t, c, "egress_decide", map[string]any{"proposal_id": res.ProposalID, "action": "deny", "reason": "use the internal mirror"})
	if applied.Status != schemas.ProposalDenied {
		t.Fatalf("applied: %+v", applied)
	}
	st := sdkCall(t, ag, "proposal_status", map[string]any{"id": res.ProposalID, "wait_seconds": 0})
	got := sdkOK[review.Result](t, st)
	if got.Status != schemas.ProposalDenied || !strings.Contains(got.Notes, "use the internal mirror") || !strings.Contains(sdkText(st), "denied") {
		t.Fatalf("status after deny: %+v / %s", got, sdkText(st))
	}
	// A modify that narrows the request, on a second proposal.
	res = sdkOK[review.Result](t, sdkCall(t, ag, "request_egress", map[string]any{"host": "pypi.example.com", "justification": "pip"}))
	must(t, w.bus.Flush(context.Background()))
	applied, _ = ok[schemas.Applied](t, c, "egress_decide", map[string]any{"proposal_id": res.ProposalID, "action": "modify", "scope": "once",
		"route": map[string]any{"host": "pypi.example.com", "path_allowlist": []string{"/simple/"}, "methods": []string{"GET"}}})
	if applied.Status != schemas.ProposalApproved || applied.Route == nil || len(applied.Route.PathAllowlist) != 1 {
		t.Fatalf("modify: %+v", applied)
	}
	// Scope persist writes the route into the bottle's manifest and shows
	// the edit.
	res = sdkOK[review.Result](t, sdkCall(t, ag, "request_egress", map[string]any{"host": "proxy.golang.org", "methods": []string{"GET"}, "justification": "go mod download"}))
	must(t, w.bus.Flush(context.Background()))
	applied, text := ok[schemas.Applied](t, c, "egress_decide", map[string]any{"proposal_id": res.ProposalID, "action": "approve", "scope": "persist"})
	if applied.Status != schemas.ProposalApproved || !strings.Contains(applied.Diff, "+    - host: proxy.golang.org") || !strings.Contains(text, "manifest change") {
		t.Fatalf("persist: %+v\n%s", applied, text)
	}
	manifest, err := os.ReadFile(filepath.Join(w.home, "bottles", "demo.yaml"))
	must(t, err)
	if !strings.Contains(string(manifest), "host: proxy.golang.org") || !strings.Contains(string(manifest), "# the test bottle") ||
		!strings.Contains(string(manifest), "token_ref: TEST_TOKEN") {
		t.Fatalf("manifest after persist:\n%s", manifest)
	}
	w.noSecret("the persisted manifest", string(manifest))
}
