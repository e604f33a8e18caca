package mcp_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/mcp"
)

// nodeSDK is the TypeScript SDK version the test installs from npm.
const nodeSDK = "@modelcontextprotocol/sdk@1.32.2"

// TestNodeClient runs the official TypeScript SDK's client (installed from
// npm into a temp folder) against `bot-bottle serve --http`, over
// streamable HTTP and SSE. It skips only when node or npm is absent.
func TestNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testreq.Missing(t, "node", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		testreq.Missing(t, "npm", err)
	}
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"bb-mcp-node-test","private":true,"type":"module"}`), 0o644))
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--loglevel=error", nodeSDK)
	install.Dir = dir
	install.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", nodeSDK, err, out)
	}
	script, err := os.ReadFile("testdata/node/client.mjs")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "client.mjs"), script, 0o644))

	h := newHome(t)
	s := serveHTTP(t, h, nil)
	token, err := mcp.ReadToken(mcp.TokenPath(h.home))
	must(t, err)
	run := exec.Command(node, "client.mjs", s.base, token)
	run.Dir = dir
	outb, err := run.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, outb)
	}
	var out struct {
		Error        string
		NoTokenError string
		Streamable   map[string]any
		SSE          map[string]any
	}
	must(t, json.Unmarshal(outb, &out))
	if out.Error != "" {
		t.Fatalf("node client failed: %s", out.Error)
	}
	for name, r := range map[string]map[string]any{"streamable": out.Streamable, "sse": out.SSE} {
		var tools []string
		for _, x := range r["tools"].([]any) {
			tools = append(tools, x.(string))
		}
		if !slices.Equal(tools, operatorTools) {
			t.Errorf("%s: tools %v", name, tools)
		}
		if r["planHost"] != "allowed.test" || r["planIsError"] != false {
			t.Errorf("%s: bottle_plan %v", name, r)
		}
		if r["badIsError"] != true || !strings.Contains(r["badText"].(string), "<inline>.yaml:3:7: egress.routes[0].hots: unknown key") {
			t.Errorf("%s: bad manifest %v", name, r["badText"])
		}
		if r["unknownIsError"] != true {
			t.Errorf("%s: unknown proposal was not a tool error", name)
		}
		if server, _ := r["server"].(map[string]any); server["name"] != mcp.ServerName {
			t.Errorf("%s: server %v", name, r["server"])
		}
	}
	if !strings.Contains(out.NoTokenError, "401") {
		t.Errorf("without the token: %q", out.NoTokenError)
	}
	h.noSecret("node output", string(outb))
}
