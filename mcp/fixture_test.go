package mcp_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// demoManifest is the bottle every test launches: one authenticated route,
// so that plans, routes and results have a credential to keep out.
const demoManifest = `# the test bottle
egress:
  routes:
    - host: allowed.test
      auth: { scheme: Bearer, token_ref: TEST_TOKEN }
`

// testHome is a bot-bottle home with the demo bottle, a host home, a workdir
// and the credential the bottle's route names, for in-process control
// planes and for the real binary alike.
type testHome struct {
	t        testing.TB
	base     string
	home     string
	hostHome string
	workdir  string
	secret   string // TEST_TOKEN's value: it must never come out
	env      map[string]string
}

func newHome(t testing.TB) *testHome {
	t.Helper()
	// A short base keeps socket paths under the 107-byte limit.
	base, err := os.MkdirTemp("", "bbmcp-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	h := &testHome{t: t, base: base, home: filepath.Join(base, "bb"), hostHome: filepath.Join(base, "home"), workdir: filepath.Join(base, "work")}
	for _, d := range []string{filepath.Join(h.home, "bottles"), h.hostHome, h.workdir} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(h.home, "bottles", "demo.yaml"), []byte(demoManifest), 0o644))
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	h.secret = "tok-" + hex.EncodeToString(raw[:])
	h.env = map[string]string{planner.HomeEnv: h.home, "HOME": h.hostHome, "PATH": os.Getenv("PATH"), "TEST_TOKEN": h.secret}
	return h
}

// environ is the environment the real binary runs with.
func (h *testHome) environ() []string {
	var out []string
	for k, v := range h.env {
		out = append(out, k+"="+v)
	}
	return out
}

// noSecret fails if the credential appears in s.
func (h *testHome) noSecret(what, s string) {
	h.t.Helper()
	if strings.Contains(s, h.secret) {
		h.t.Errorf("%s holds the credential's value", what)
	}
}

// world is a control plane in this test process, as bot-bottle serve
// builds one: a real SQLite store and bus in a fresh home, a launcher
// with the local backend (the real binary's init), the Control and the
// Operator following the store.
type world struct {
	*testHome
	store *sqlite.Store
	bus   *events.Bus
	l     *launcher.Launcher
	ctl   *mcp.Control
	op    *mcp.Operator
}

type worldOptions struct {
	agentWait     time.Duration
	agentInflight int
}

func newWorld(t *testing.T, opts worldOptions) *world {
	t.Helper()
	w := &world{testHome: newHome(t)}
	p, err := planner.New(w.env, w.workdir)
	must(t, err)
	w.store, err = sqlite.Open(filepath.Join(w.home, sqlite.FileName), sqlite.Options{})
	must(t, err)
	w.bus = events.NewBus(w.store, events.BusOptions{})
	w.l, err = launcher.New(launcher.Config{Home: w.home, Planner: p, HostEnv: w.env, Backends: []launcher.Backend{netns.New(bin)},
		Registry: w.store, Publisher: w.bus, StopGrace: 5 * time.Second})
	must(t, err)
	w.ctl, err = mcp.NewControl(mcp.Config{Planner: p, Channel: w.bus, Launcher: w.l, WorkDir: w.workdir, AgentWait: opts.agentWait,
		AgentInflight: opts.agentInflight})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w.op, err = mcp.NewOperator(ctx, w.ctl)
	must(t, err)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if err := w.op.Watch(ctx); err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		_ = w.l.Close(sctx)
		cancel()
		<-watched
		w.ctl.Close()
		_ = w.bus.Close(sctx)
		_ = w.store.Close()
	})
	return w
}

// localOK reports whether the local backend works here.
func localOK() bool { return netns.New(bin).Check(context.Background()) == nil }

// requireLocal skips unless the local backend works here; CI sets
// BOT_BOTTLE_REQUIRE_DOCKER to turn the skip into a failure.
func requireLocal(t testing.TB) {
	t.Helper()
	if err := netns.New(bin).Check(context.Background()); err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatalf("the local backend is unavailable and BOT_BOTTLE_REQUIRE_DOCKER is set: %v", err)
		}
		t.Skipf("the local backend is unavailable: %v", err)
	}
}

// launch starts the demo bottle in this process with command.
func (w *world) launch(command ...string) *launcher.Bottle {
	w.t.Helper()
	requireLocal(w.t)
	b, err := w.ctl.Launch(context.Background(), launcher.Options{Name: "demo", Command: command, Workdir: w.workdir})
	must(w.t, err)
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = b.Stop(ctx)
	})
	return b
}

// notes collects an mcp-go client's notifications.
type notes struct {
	mu  sync.Mutex
	got []mcpgo.JSONRPCNotification
	ch  chan struct{}
}

func newNotes() *notes { return &notes{ch: make(chan struct{}, 1)} }

func (n *notes) add(x mcpgo.JSONRPCNotification) {
	n.mu.Lock()
	n.got = append(n.got, x)
	n.mu.Unlock()
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

// wait returns the first notification for which match holds, waiting for
// it up to a generous timeout.
func (n *notes) wait(t *testing.T, what string, match func(mcpgo.JSONRPCNotification) bool) mcpgo.JSONRPCNotification {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		n.mu.Lock()
		for _, x := range n.got {
			if match(x) {
				n.mu.Unlock()
				return x
			}
		}
		n.mu.Unlock()
		select {
		case <-n.ch:
		case <-deadline:
			t.Fatalf("no notification: %s", what)
		}
	}
}

// isUpdated matches resources/updated for uri.
func isUpdated(uri string) func(mcpgo.JSONRPCNotification) bool {
	return func(x mcpgo.JSONRPCNotification) bool {
		return x.Method == mcpgo.MethodNotificationResourceUpdated && x.Params.AdditionalFields["uri"] == uri
	}
}

// isLog matches a log notification about event ("denial", "proposal").
func isLog(event string) func(mcpgo.JSONRPCNotification) bool {
	return func(x mcpgo.JSONRPCNotification) bool {
		if x.Method != string(mcpgo.MethodNotificationMessage) {
			return false
		}
		data, _ := x.Params.AdditionalFields["data"].(map[string]any)
		return data["event"] == event
	}
}

// operator connects mcp-go's in-process client to the world's operator
// surface, with its default (modern-first) protocol preference.
func (w *world) operator() (*client.Client, *notes) {
	w.t.Helper()
	c, err := client.NewInProcessClient(w.op.MCPServer())
	must(w.t, err)
	w.t.Cleanup(func() { c.Close() })
	n := newNotes()
	c.OnNotification(n.add)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(w.t, c.Start(ctx))
	var init mcpgo.InitializeRequest
	init.Params.ClientInfo = mcpgo.Implementation{Name: "mcp-go-test", Version: "0"}
	res, err := c.Initialize(ctx, init)
	must(w.t, err)
	if res.ProtocolVersion != mcpgo.ProtocolVersion20251125 {
		w.t.Fatalf("negotiated %s, want the pinned %s", res.ProtocolVersion, mcpgo.ProtocolVersion20251125)
	}
	return c, n
}

// call calls a tool and fails the test on a protocol error (a tool error is
// a result).
func call(t *testing.T, c *client.Client, name string, args map[string]any) *mcpgo.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var req mcpgo.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured content.
func ok[T any](t *testing.T, c *client.Client, name string, args map[string]any) (T, string) {
	t.Helper()
	res := call(t, c, name, args)
	text := resultText(res)
	if res.IsError {
		t.Fatalf("%s %v: tool error: %s", name, args, text)
	}
	var out T
	data, err := json.Marshal(res.StructuredContent)
	must(t, err)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, data, err)
	}
	return out, text
}

// toolErr calls a tool that must fail as a tool error and returns its text.
func toolErr(t *testing.T, c *client.Client, name string, args map[string]any) string {
	t.Helper()
	res := call(t, c, name, args)
	if !res.IsError {
		t.Fatalf("%s %v: want a tool error, got %s", name, args, resultText(res))
	}
	return resultText(res)
}

func resultText(res *mcpgo.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcpgo.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// agent connects the official Go SDK's client to a bottle's agent surface
// through its MCP socket, as the forwarder inside the bottle does.
func agent(t *testing.T, runDir string) *sdk.ClientSession {
	t.Helper()
	return agentWith(t, runDir, sdk.NewClient(&sdk.Implementation{Name: "agent-in-bottle", Version: "0"}, nil))
}

// agentWith connects c to a bottle's agent surface.
func agentWith(t *testing.T, runDir string, c *sdk.Client) *sdk.ClientSession {
	t.Helper()
	sock := launcher.RunDir{Root: runDir}.SharedFile(launcher.MCPSocket)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: "http://127.0.0.1:3129/mcp", HTTPClient: hc, DisableStandaloneSSE: true}, nil)
	must(t, err)
	t.Cleanup(func() { cs.Close() })
	if v := cs.InitializeResult().ProtocolVersion; v != mcpgo.ProtocolVersion20251125 {
		t.Fatalf("agent surface negotiated %s", v)
	}
	return cs
}

// sdkCall calls a tool over an official-SDK session.
func sdkCall(t testing.TB, cs *sdk.ClientSession, name string, args map[string]any) *sdk.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return res
}

func sdkText(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// sdkOK decodes a successful official-SDK result's structured content.
func sdkOK[T any](t *testing.T, res *sdk.CallToolResult) T {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", sdkText(res))
	}
	var out T
	data, err := json.Marshal(res.StructuredContent)
	must(t, err)
	must(t, json.Unmarshal(data, &out))
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
