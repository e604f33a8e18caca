package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// apiURL is where each CLI sends its model requests.
var apiURL = map[string]string{
	"claude": "https://api.anthropic.com/v1/messages",
	"codex":  "https://chatgpt.com/backend-api/codex/responses",
}

// deniedURL is on a host the bottle has no route to until the operator
// approves; pathDeniedURL on a routed host, outside its path allowlist.
const (
	deniedURL     = "https://denied.test/simple/pkg/"
	pathDeniedURL = "https://docs.test/private/notes"
)

// remediate does what an agent in a bottle does: call its API with the
// placeholder credential, hit refusals, ask for access over MCP, wait,
// retry. It also prints everything a leaked token could hide in.
func remediate(name string) int {
	section("mcp-config")
	url, err := mcpURL(name)
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	fmt.Printf("url=%s\nuid=%d ssl-cert-file=%s\n", url, os.Getuid(), os.Getenv("SSL_CERT_FILE"))

	section("api")
	tok, err := authToken(name)
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	fmt.Println(get(apiURL[name], tok))

	// Inside a decrypted tunnel the refusal is an HTTP response: the
	// structured 403 itself.
	section("path-denied")
	fmt.Println(get(pathDeniedURL, ""))

	// A host with no route: the proxy accepts the CONNECT only to answer
	// inside the tunnel with the structured 403, which the client reads.
	// The agent also finds the denial again with recent_denials below.
	section("denied")
	fmt.Println(get(deniedURL, ""))

	section("request_egress")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	status, err := requestEgress(ctx, url)
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	fmt.Printf("status=%s\n", status)

	section("retry")
	fmt.Println(get(deniedURL, ""))

	section("secrets")
	dumpSecrets()
	section("end")
	return 0
}

func section(name string) { fmt.Printf("=== %s\n", name) }

// get sends a GET through the environment's proxy and returns
// "status=N header=D" and the body on the next line.
func get(u, bearer string) string {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return fmt.Sprintf("status=%d denial-header=%s\n%s", resp.StatusCode, resp.Header.Get("X-Bot-Bottle-Denial"), body)
}

// requestEgress finds the refusal of denied.test among the bottle's
// recent denials and asks for that host over the bottle's MCP server,
// waiting for the decision (proposal_status while pending).
func requestEgress(ctx context.Context, url string) (string, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "agentstandin", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", url, err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("list tools: %w", err)
	}
	var names []string
	for _, t := range tools.Tools {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	fmt.Printf("tools=%s\n", strings.Join(names, ","))
	// The denial reaches recent_denials once the channel has stored it,
	// a moment after the refusal: look again for a while.
	denialID := ""
	for wait := 50 * time.Millisecond; denialID == ""; wait *= 2 {
		id, err := findDenial(ctx, cs, "denied.test")
		if err != nil {
			return "", err
		}
		denialID = id
		if denialID == "" {
			if wait > 10*time.Second {
				return "", fmt.Errorf("recent_denials never listed the refusal of denied.test")
			}
			time.Sleep(wait)
		}
	}
	res, err := call(ctx, cs, "request_egress", map[string]any{
		"host": "denied.test", "path_prefixes": []string{"/simple/"}, "methods": []string{"GET"},
		"justification": "install the pkg package the task needs", "denial_id": denialID,
	})
	for err == nil && res.Status == "pending" {
		res, err = call(ctx, cs, "proposal_status", map[string]any{"id": res.ProposalID, "wait_seconds": 60})
	}
	if err != nil {
		return "", err
	}
	return res.Status, nil
}

// findDenial returns the id of the bottle's latest denial for host, or ""
// if recent_denials does not list one.
func findDenial(ctx context.Context, cs *mcp.ClientSession, host string) (string, error) {
	raw, err := callRaw(ctx, cs, "recent_denials", map[string]any{"limit": 10})
	if err != nil {
		return "", err
	}
	var recent struct {
		Denials []struct {
			ID     string `json:"denial_id"`
			Host   string `json:"host"`
			Reason string `json:"reason"`
		} `json:"denials"`
	}
	if err := json.Unmarshal(raw, &recent); err != nil {
		return "", fmt.Errorf("recent_denials: %w", err)
	}
	for _, d := range recent.Denials {
		if d.Host == host {
			fmt.Printf("denial=%s reason=%s\n", d.ID, d.Reason)
			return d.ID, nil
		}
	}
	return "", nil
}

type result struct {
	Status     string `json:"status"`
	ProposalID string `json:"proposal_id"`
}

func call(ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) (result, error) {
	raw, err := callRaw(ctx, cs, tool, args)
	if err != nil {
		return result{}, err
	}
	var out result
	if err := json.Unmarshal(raw, &out); err != nil {
		return result{}, fmt.Errorf("%s: result %s: %w", tool, raw, err)
	}
	return out, nil
}

// callRaw calls a tool and returns its structured result.
func callRaw(ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) ([]byte, error) {
	r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	if r.IsError {
		var text []string
		for _, c := range r.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				text = append(text, tc.Text)
			}
		}
		return nil, fmt.Errorf("%s: tool error: %s", tool, strings.Join(text, "; "))
	}
	raw, _ := json.Marshal(r.StructuredContent)
	fmt.Printf("%s -> %s\n", tool, raw)
	return raw, nil
}

// dumpSecrets prints every place in the bottle a credential could be
// found: the environment of every process, their command lines, and every
// file of the agent's home.
func dumpSecrets() {
	fmt.Println("-- env")
	for _, kv := range os.Environ() {
		fmt.Println(kv)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		for _, f := range []string{"environ", "cmdline"} {
			if b, err := os.ReadFile(filepath.Join(p, f)); err == nil {
				fmt.Printf("-- %s/%s\n%s\n", p, f, strings.ReplaceAll(string(b), "\x00", "\n"))
			}
		}
	}
	_ = filepath.Walk(os.Getenv("HOME"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		fmt.Printf("-- file %s (%v)\n%s\n", path, info.Mode(), b)
		return nil
	})
}
