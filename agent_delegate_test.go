package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestHostAgentDelegates: a host agent connected to `bot-bottle serve`
// over stdio (the way mcp-config sets Claude Code and Codex up) hands a
// task to a bottled agent with bottle_launch's prompt and gets back the
// agent's answer and exit code.
func TestHostAgentDelegates(t *testing.T) {
	e := newAgentE2E(t, "local")
	args := []string{"serve", "--upstream-ca", e.caFile}
	for _, h := range agentHosts {
		args = append(args, "--resolve", h+":443="+e.upstream.Listener.Addr().String())
	}
	cmd := e.command(args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := sdk.NewClient(&sdk.Implementation{Name: "host-agent", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	must(t, err)
	defer cs.Close()

	for bottle, want := range map[string]struct {
		code int
		line string
	}{
		"claudy": {3, `standin-claude prompt="exit 3" args=["-p" "--dangerously-skip-permissions" "--" "exit 3"]`},
		"codexy": {0, `standin-codex prompt="summarise the repo" args=["exec"`},
	} {
		prompt := "exit 3"
		if want.code == 0 {
			prompt = "summarise the repo"
		}
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "bottle_launch", Arguments: map[string]any{
			"name": bottle, "prompt": prompt, "backend": "local", "workdir": e.workdir}})
		must(t, err)
		if res.IsError {
			t.Fatalf("%s: bottle_launch failed: %v", bottle, res.Content)
		}
		raw, _ := json.Marshal(res.StructuredContent)
		var got struct {
			ID       string `json:"id"`
			State    string `json:"state"`
			ExitCode *int   `json:"exit_code"`
			Output   string `json:"output"`
			Stderr   string `json:"stderr"`
		}
		must(t, json.Unmarshal(raw, &got))
		if got.ExitCode == nil || *got.ExitCode != want.code || !strings.Contains(got.Output, want.line) {
			t.Errorf("%s: %s; want exit %d and output %q", bottle, raw, want.code, want.line)
		}
		if !strings.Contains(got.Stderr, "progress goes to stderr") || strings.Contains(got.Output, "progress") {
			t.Errorf("%s: stdout and stderr must come back apart: %s", bottle, raw)
		}
		text := res.Content[0].(*sdk.TextContent).Text
		if !strings.Contains(text, "exited") || !strings.Contains(text, want.line) {
			t.Errorf("%s: the text result does not give the answer: %q", bottle, text)
		}
	}
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "bottle_launch", Arguments: map[string]any{
		"name": "claudy", "prompt": "x", "command": []string{"sh"}, "backend": "local", "workdir": e.workdir}})
	must(t, err)
	if !res.IsError {
		t.Errorf("a prompt with a command was accepted")
	}
}
