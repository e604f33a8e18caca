package mcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/mcp"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// rpcError is a JSON-RPC error answer.
type rpcError struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// post sends body to u with the headers and returns the status and the
// decoded answer (the first SSE data line, if it streamed).
func post(t *testing.T, c *http.Client, u, body string, hdr map[string]string) (int, rpcError, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", mcpgo.ProtocolVersion20251125)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	must(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if i := strings.Index(text, "data: "); i >= 0 {
		text = strings.SplitN(text[i+6:], "\n", 2)[0]
	}
	var e rpcError
	_ = json.Unmarshal([]byte(text), &e)
	return resp.StatusCode, e, string(raw)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`

// TestOperatorHTTPHygiene: a page of another origin is refused, a batch
// gets "batches not supported" (-32600), and an unknown bottle resource is
// "resource not found" (-32002).
func TestOperatorHTTPHygiene(t *testing.T) {
	h := newHome(t)
	s := serveHTTP(t, h, nil)
	token, err := mcp.ReadToken(mcp.TokenPath(h.home))
	must(t, err)
	c := bearerClient(token)
	if code, _, raw := post(t, c, s.base+"/mcp", initBody, map[string]string{"Origin": "http://evil.example"}); code != http.StatusForbidden {
		t.Errorf("Origin evil.example: %d %s", code, raw)
	}
	if code, e, raw := post(t, c, s.base+"/mcp", `[`+initBody+`]`, nil); e.Error == nil || e.Error.Code != -32600 ||
		!strings.Contains(e.Error.Message, "batches not supported") || code != http.StatusBadRequest {
		t.Errorf("a batch: %d %s", code, raw)
	}
	// A session, then an unknown bottle's resource.
	req, _ := http.NewRequest(http.MethodPost, s.base+"/mcp", strings.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := c.Do(req)
	must(t, err)
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	_, e, raw := post(t, c, s.base+"/mcp", `{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"bottle://demo-zzzzzz/plan"}}`,
		map[string]string{"Mcp-Session-Id": sid})
	if e.Error == nil || e.Error.Code != -32002 {
		t.Errorf("an unknown bottle's resource: %s", raw)
	}

	// SSE: a client that reconnects after a restart gets a new session and
	// must initialize it; a request before that is refused, not served
	// without its subscriptions.
	sreq, _ := http.NewRequest(http.MethodGet, s.base+mcp.SSEPath, nil)
	sreq.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sresp, err := c.Do(sreq.WithContext(ctx))
	must(t, err)
	defer sresp.Body.Close()
	events := bufio.NewScanner(sresp.Body)
	var endpoint string
	for events.Scan() {
		if l, ok := strings.CutPrefix(events.Text(), "data: "); ok {
			endpoint = l
			break
		}
	}
	if !strings.Contains(endpoint, mcp.MessagePath) {
		t.Fatalf("no endpoint event: %q", endpoint)
	}
	if !strings.HasPrefix(endpoint, "http") {
		endpoint = s.base + endpoint
	}
	code, _, _ := post(t, c, endpoint, `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`, nil)
	if code/100 != 2 {
		t.Fatalf("message post: %d", code)
	}
	for events.Scan() {
		l, ok := strings.CutPrefix(events.Text(), "data: ")
		if !ok {
			continue
		}
		var e rpcError
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		if e.Error == nil || !strings.Contains(e.Error.Message, "never initialized") {
			t.Fatalf("an uninitialized SSE session was served: %s", l)
		}
		break
	}
}

// TestServeStdioBoundsMessages: a line past the bound is refused unread
// and a batch is answered "batches not supported", and the session goes on.
func TestServeStdioBoundsMessages(t *testing.T) {
	h := newHome(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = h.environ()
	cmd.Dir = h.workdir
	in, err := cmd.StdinPipe()
	must(t, err)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	go func() {
		io.WriteString(in, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`+strings.Repeat("A", 6<<20)+`"}}`+"\n")
		io.WriteString(in, `[{"jsonrpc":"2.0","id":2,"method":"ping"}]`+"\n")
		io.WriteString(in, initBody+"\n")
		io.WriteString(in, `{"jsonrpc":"2.0","id":3,"method":"ping"}`+"\n")
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	var got []string
	for len(got) < 4 && sc.Scan() {
		got = append(got, sc.Text())
	}
	// The requests are served concurrently: initialize and the last ping
	// may be answered in either order.
	all := strings.Join(got, "\n")
	if len(got) < 4 || !strings.Contains(got[0], "larger than") || !strings.Contains(got[1], "batches not supported") ||
		!strings.Contains(all, `"id":3,"result":{}`) || !strings.Contains(all, `"id":1,"result":{"protocolVersion"`) {
		t.Fatalf("stdio answers:\n%s", all)
	}
}

// TestAgentSurfaceHygiene: the agent surface refuses a foreign Host or
// Origin and batches; its errors never send the agent to an operator
// tool; its tools have titles and schema defaults.
func TestAgentSurfaceHygiene(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{})
	b := w.launch("sleep", "300")
	sock := launcher.RunDir{Root: b.Info().RunDir}.SharedFile(launcher.MCPSocket)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, hdr := range []map[string]string{{"Host": "evil.example:3129"}, {"Origin": "http://evil.example"}} {
		if code, _, raw := post(t, c, "http://127.0.0.1:3129/mcp", initBody, hdr); code != http.StatusForbidden {
			t.Errorf("%v: %d %s", hdr, code, raw)
		}
	}
	if _, e, raw := post(t, c, "http://127.0.0.1:3129/mcp", `[`+initBody+`]`, nil); e.Error == nil || e.Error.Code != -32600 {
		t.Errorf("a batch: %s", raw)
	}
	ag := agent(t, b.Info().RunDir)
	res := sdkCall(t, ag, "proposal_status", map[string]any{"id": "p-nope", "wait_seconds": 0})
	if text := sdkText(res); !res.IsError || strings.Contains(text, "egress_") || !strings.Contains(text, "Try: ") {
		t.Errorf("the agent's error hint: %s", text)
	}
	list, err := ag.ListTools(context.Background(), nil)
	must(t, err)
	for _, tl := range list.Tools {
		if tl.Title == "" {
			t.Errorf("%s has no title", tl.Name)
		}
		raw, _ := json.Marshal(tl.InputSchema)
		var schema map[string]any
		must(t, json.Unmarshal(raw, &schema))
		checkDefaults(t, tl.Name, schema)
	}
}
