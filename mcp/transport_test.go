package mcp_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// stdioSession spawns `bot-bottle serve` and connects the official Go
// SDK's client to it over stdin and stdout, with its default protocol
// preference (the stateless revision first).
func stdioSession(t testing.TB, h *testHome, n *sdkNotes) (*sdk.ClientSession, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = h.environ()
	cmd.Dir = h.workdir
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	c := sdk.NewClient(&sdk.Implementation{Name: "official-go-sdk", Version: "1.8.0"}, n.options())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := c.Connect(ctx, &sdk.CommandTransport{Command: cmd, TerminateDuration: 20 * time.Second}, nil)
	if err != nil {
		t.Fatalf("connect over stdio: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		cs.Close()
		h.noSecret("serve's stderr", stderr.String())
	})
	if v := cs.InitializeResult().ProtocolVersion; v != mcpgo.ProtocolVersion20251125 {
		t.Fatalf("negotiated %s over stdio", v)
	}
	return cs, stderr
}

// TestServeStdioCrossProcess drives the real binary over stdio with the
// official Go SDK while the bottle belongs to another process (a
// `bot-bottle launch` in the background): the serve process hears of the
// bottle's denial and of its agent's request through the store alone, its
// decision is applied by the launch process, and bottle_stop ends it.
func TestServeStdioCrossProcess(t *testing.T) {
	requireLocal(t)
	h := newHome(t)
	n := newSDKNotes()
	cs, _ := stdioSession(t, h, n)
	names := toolNames(t, cs)
	slices.Sort(names)
	if !slices.Equal(names, operatorTools) {
		t.Fatalf("tools over stdio: %v", names)
	}
	bad := sdkCall(t, cs, "bottle_plan", map[string]any{"manifest": "egress:\n  routes:\n    - hots: x\n"})
	if !bad.IsError || !strings.Contains(sdkText(bad), `<inline>.yaml:3:7: egress.routes[0].hots: unknown key (did you mean "host"?)`) {
		t.Fatalf("manifest errors over stdio: %s", sdkText(bad))
	}
	if res := sdkCall(t, cs, "egress_decide", map[string]any{"proposal_id": "p-nope", "action": "approve"}); !res.IsError {
		t.Fatalf("unknown proposal: %s", sdkText(res))
	}
	subscribeAll(t, cs)

	l := launchProcess(t, h, "sh", "-c", deniedScript)
	m := n.waitLog(t, "denial", l.id)
	if m["level"] != "warning" || !strings.Contains(m["message"].(string), "pypi.example.com/simple/x") {
		t.Fatalf("denial notification: %v", m)
	}
	n.waitUpdated(t, mcp.DenialsURI)

	// Another owner's bottle: its routes and plan come from the copies its
	// owner keeps.
	routes := sdkOK[mcp.Routes](t, sdkCall(t, cs, "egress_routes", map[string]any{"bottle": l.id}))
	if routes.Source != "owner" || len(routes.Routes.Routes) != 1 {
		t.Fatalf("routes of another owner's bottle: %+v", routes)
	}
	rr, err := cs.ReadResource(context.Background(), &sdk.ReadResourceParams{URI: mcp.PlanURI(l.id)})
	must(t, err)
	if !containsAll(rr.Contents[0].Text, `"bottle": "demo"`, `"token_ref": "TEST_TOKEN"`) {
		t.Fatalf("plan resource: %s", rr.Contents[0].Text)
	}
	h.noSecret("plan resource", rr.Contents[0].Text)

	// The agent in that bottle asks; this operator decides; the launch
	// process applies it and answers the agent.
	ag := agent(t, launcher.RunDirOf(h.home, l.id).Root)
	asked := make(chan *sdk.CallToolResult, 1)
	go func() {
		res, err := ag.CallTool(context.Background(), &sdk.CallToolParams{Name: "request_egress", Arguments: map[string]any{
			"host": "pypi.example.com", "path_prefixes": []string{"/simple/"}, "justification": "pip", "denial_id": "x"}})
		if err != nil {
			t.Errorf("request_egress: %v", err)
		}
		asked <- res
	}()
	p := n.waitLog(t, "proposal", l.id)
	id := p["proposal"].(map[string]any)["proposal_id"].(string)
	n.waitUpdated(t, mcp.ProposalsURI)
	applied := sdkOK[schemas.Applied](t, sdkCall(t, cs, "egress_decide", map[string]any{"proposal_id": id, "action": "approve"}))
	if applied.Status != schemas.ProposalApproved || applied.Bottle != l.id {
		t.Fatalf("applied by the other owner: %+v", applied)
	}
	select {
	case res := <-asked:
		if r := sdkOK[review.Result](t, res); r.Status != schemas.ProposalApproved {
			t.Fatalf("agent got %+v", r)
		}
	case <-time.After(time.Minute):
		t.Fatal("the agent's call did not return")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		routes = sdkOK[mcp.Routes](t, sdkCall(t, cs, "egress_routes", map[string]any{"bottle": l.id}))
		if len(routes.Routes.Routes) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the owner's copy did not follow the reload: %+v", routes)
		}
		time.Sleep(20 * time.Millisecond)
	}

	stopped := sdkOK[mcp.Stopped](t, sdkCall(t, cs, "bottle_stop", map[string]any{"id": l.id}))
	if !launcher.Terminal(stopped.State) {
		t.Fatalf("stop: %+v", stopped)
	}
	select {
	case <-l.exited:
	case <-time.After(time.Minute):
		t.Fatal("the launch process did not end")
	}
}

func TestServeHTTPAndSSE(t *testing.T) {
	h := newHome(t)
	s := serveHTTP(t, h, nil)
	tokPath := mcp.TokenPath(h.home)
	st, err := os.Stat(tokPath)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %o", st.Mode().Perm())
	}
	token, err := mcp.ReadToken(tokPath)
	must(t, err)
	// serve generated the token: it prints it once, in the login link for
	// the person who started it, and nowhere else. The link is the
	// banner's last line, which may come after serve is already answering.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(s.stderr.String(), "review desk:") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(s.stderr.String(), token); n != 1 || !strings.Contains(s.stderr.String(), "/review/login?token="+token+" ") {
		t.Fatalf("serve printed its token %d times, want once in the login link:\n%s", n, s.stderr.String())
	}

	// No token, a wrong one, or another scheme: 401 on every path.
	for _, path := range []string{"/mcp", "/sse", "/message?sessionId=x", "/anything"} {
		for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + token, "Bearer " + token[:len(token)-1]} {
			req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("POST %s with %q: %d", path, strings.Fields(auth + " -")[0], resp.StatusCode)
			}
		}
	}

	// A body past the bound is refused before it is all read.
	huge := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bottle_plan","arguments":{"manifest":"` + strings.Repeat("x", 5<<20) + `"}}}`
	req, _ := http.NewRequest(http.MethodPost, s.base+"/mcp", strings.NewReader(huge))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("a 5 MiB body was served")
		}
	}

	ctx := context.Background()
	hc := bearerClient(token)
	streamN, sseN := newSDKNotes(), newSDKNotes()
	stream, err := sdk.NewClient(&sdk.Implementation{Name: "official-go-sdk-http", Version: "1.8.0"}, streamN.options()).
		Connect(ctx, &sdk.StreamableClientTransport{Endpoint: s.base + mcp.StreamablePath, HTTPClient: hc}, nil)
	must(t, err)
	defer stream.Close()
	sse, err := sdk.NewClient(&sdk.Implementation{Name: "official-go-sdk-sse", Version: "1.8.0"}, sseN.options()).
		Connect(ctx, &sdk.SSEClientTransport{Endpoint: s.base + mcp.SSEPath, HTTPClient: hc}, nil)
	must(t, err)
	defer sse.Close()
	for name, cs := range map[string]*sdk.ClientSession{"streamable": stream, "sse": sse} {
		if v := cs.InitializeResult().ProtocolVersion; v != mcpgo.ProtocolVersion20251125 {
			t.Errorf("%s negotiated %s", name, v)
		}
		names := toolNames(t, cs)
		slices.Sort(names)
		if !slices.Equal(names, operatorTools) {
			t.Errorf("%s tools: %v", name, names)
		}
		plan := sdkOK[schemas.Plan](t, sdkCall(t, cs, "bottle_plan", map[string]any{"name": "demo"}))
		if plan.Routes[0].Host != "allowed.test" {
			t.Errorf("%s plan: %+v", name, plan)
		}
		subscribeAll(t, cs)
	}

	// mcp-go's own client over streamable HTTP negotiates down to the
	// pinned revision by itself.
	mc, err := client.NewStreamableHttpClient(s.base+mcp.StreamablePath, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	must(t, err)
	defer mc.Close()
	must(t, mc.Start(ctx))
	var init mcpgo.InitializeRequest
	init.Params.ClientInfo = mcpgo.Implementation{Name: "mcp-go-http", Version: "0"}
	ir, err := mc.Initialize(ctx, init)
	must(t, err)
	if ir.ProtocolVersion != mcpgo.ProtocolVersion20251125 || mc.GetSessionId() == "" {
		t.Errorf("mcp-go over HTTP: %s session %q", ir.ProtocolVersion, mc.GetSessionId())
	}
	list, err := mc.ListTools(ctx, mcpgo.ListToolsRequest{})
	must(t, err)
	if len(list.Tools) != len(operatorTools) {
		t.Errorf("mcp-go over HTTP: %d tools", len(list.Tools))
	}

	if !localOK() {
		return
	}
	l := launchProcess(t, h, "sh", "-c", deniedScript)
	for name, n := range map[string]*sdkNotes{"streamable": streamN, "sse": sseN} {
		t.Run(name+" notified", func(t *testing.T) {
			n.waitLog(t, "denial", l.id)
			n.waitUpdated(t, mcp.DenialsURI)
		})
	}
}

func TestServeHTTPTokenSources(t *testing.T) {
	h := newHome(t)
	envTok := "env-token-0123456789abcdef"
	s := serveHTTP(t, h, []string{"BOT_BOTTLE_TOKEN=" + envTok})
	if _, err := os.Stat(mcp.TokenPath(h.home)); err == nil {
		t.Error("a token file was generated although BOT_BOTTLE_TOKEN was set")
	}
	for tok, want := range map[string]int{envTok: http.StatusOK, "": http.StatusUnauthorized} {
		req, _ := http.NewRequest(http.MethodPost, s.base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"0"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token given %v: %d, want %d", tok != "", resp.StatusCode, want)
		}
	}

	// /metrics, behind the same token, carries the Go runtime and process
	// collectors beside bot-bottle's own series.
	req, _ := http.NewRequest(http.MethodGet, s.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+envTok)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{"\ngo_goroutines ", "\nprocess_open_fds ", "\nprocess_resident_memory_bytes ", "\nbot_bottle_events_"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	if resp, err := http.Get(s.base + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/metrics without the token: %d", resp.StatusCode)
		}
	}

	// A token file others can read is refused, with what to do.
	loose := h.base + "/loose.token"
	must(t, os.WriteFile(loose, []byte("loose-token-0123456789abcdef\n"), 0o644))
	cmd := exec.Command(bin, "serve", "--http", "127.0.0.1:0", "--token-file", loose)
	cmd.Env = h.environ()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "chmod 600") || strings.Contains(string(out), "loose-token") {
		t.Fatalf("loose token file: %v\n%s", err, out)
	}
	short := exec.Command(bin, "serve", "--http", "127.0.0.1:0")
	short.Env = append(h.environ(), "BOT_BOTTLE_TOKEN=short")
	if out, err := short.CombinedOutput(); err == nil || !strings.Contains(string(out), "shorter than 16") {
		t.Fatalf("short token: %v\n%s", err, out)
	}
}
