package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The scripted model: a loopback stand-in for the providers' APIs that
// the real Claude Code and Codex CLIs talk to through a bottle's proxy.
// What it answers is decided by a scenario marker in the user's prompt,
// never by chance: a turn that asks for a tool gets exactly one call of it,
// and the turn after it (whose input carries the tool's result) gets a
// final answer that repeats the start of that result, so the test can see
// what reached the model.

// Scenario markers a prompt carries.
const (
	scenarioHello   = "bb-scenario-hello"  // answer with helloAnswer, no tool
	scenarioEgress  = "bb-scenario-egress" // call request_egress for denied.test
	scenarioCurl    = "bb-scenario-curl"   // run curl against denied.test in the shell tool
	scenarioCurlOK  = "bb-scenario-curlok" // run curl against docs.test/public/ in the shell tool
	helloAnswer     = "bb-hello-from-the-scripted-model"
	finalAnswerHead = "bb-tool-result:"
)

// deniedURL is what the shell scenarios fetch: a host no route names.
const deniedURL = "https://denied.test/secret-plans"

// allowedURL is a path the bottles' docs.test route admits.
const allowedURL = "https://docs.test/public/readme"

// modelCall is one request a CLI made to the scripted model or its hosts.
type modelCall struct {
	Host, Method, Path string
	Auth               string // "real", "none" or "other"
}

// scriptedModel serves api.anthropic.com, chatgpt.com, api.openai.com and
// the test hosts on one TLS listener.
type scriptedModel struct {
	t      testing.TB
	tokens map[string]bool // the real credentials the proxy injects

	mu          sync.Mutex
	calls       []modelCall
	toolResults []string // what the model got back from each tool call, in order
	toolCalls   []string // the tool names the model called
	resultAt    []time.Time
	prompts     [][]string // per turn that offered tools: the user's prompts it carried
	bodies      [][]byte   // every model request, decoded: what the CLI sent the model
}

func newScriptedModel(t testing.TB, tokens ...string) *scriptedModel {
	m := &scriptedModel{t: t, tokens: map[string]bool{}}
	for _, tok := range tokens {
		m.tokens["Bearer "+tok] = true
	}
	return m
}

func (m *scriptedModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := "other"
	switch h := r.Header.Get("Authorization"); {
	case h == "":
		auth = "none"
	case m.tokens[h]:
		auth = "real"
	}
	m.mu.Lock()
	m.calls = append(m.calls, modelCall{Host: r.Host, Method: r.Method, Path: r.URL.Path, Auth: auth})
	m.mu.Unlock()
	host := strings.TrimSuffix(r.Host, ":443")
	switch {
	case host == "api.anthropic.com" && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/messages"):
		if strings.HasSuffix(r.URL.Path, "/count_tokens") {
			writeJSON(w, map[string]any{"input_tokens": 10})
			return
		}
		m.serveAnthropic(w, r)
	case (host == "chatgpt.com" && r.URL.Path == "/backend-api/codex/responses") ||
		(host == "api.openai.com" && r.URL.Path == "/v1/responses"):
		m.serveResponses(w, r)
	case host == "chatgpt.com" && r.URL.Path == "/backend-api/wham/accounts/check":
		// Codex's workspace routing discovery: the login's own account, with
		// no constraint on which backend serves it.
		acct := r.Header.Get("ChatGPT-Account-Id")
		writeJSON(w, map[string]any{"accounts": []any{map[string]any{"id": acct, "name": "bb", "structure": "personal",
			"workspace_backend_origin": "NO_CONSTRAINT", "account_routing_override": "NO_CONSTRAINT"}},
			"account_ordering": []string{acct}, "default_account_id": acct})
	case host == "docs.test":
		fmt.Fprintf(w, "docs-ok path=%s", r.URL.Path)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"the scripted model does not serve %s %s"}`, r.Method, r.URL.Path)
	}
}

// Calls returns every request the upstream saw.
func (m *scriptedModel) Calls() []modelCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]modelCall{}, m.calls...)
}

// ToolResults returns what each tool call answered the model.
func (m *scriptedModel) ToolResults() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.toolResults...)
}

// ToolCalls returns the tools the model called.
func (m *scriptedModel) ToolCalls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.toolCalls...)
}

func (m *scriptedModel) recordResult(s string) {
	m.mu.Lock()
	m.toolResults = append(m.toolResults, s)
	m.resultAt = append(m.resultAt, time.Now())
	m.mu.Unlock()
}

// ResultTimes returns when each tool result reached the model.
func (m *scriptedModel) ResultTimes() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time{}, m.resultAt...)
}

// recordPrompts notes the prompts (texts with a scenario marker) a turn's
// request carried: the conversation the CLI sent, resumed sessions
// included.
func (m *scriptedModel) recordPrompts(texts []string) {
	var ps []string
	for _, t := range texts {
		if strings.Contains(t, "bb-scenario-") {
			ps = append(ps, oneLine(t, 200))
		}
	}
	m.mu.Lock()
	m.prompts = append(m.prompts, ps)
	m.mu.Unlock()
}

// LastPrompts returns the prompts of the latest turn.
func (m *scriptedModel) LastPrompts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.prompts) == 0 {
		return nil
	}
	return m.prompts[len(m.prompts)-1]
}

// recordBody keeps a model request as the CLI sent it (decoded).
func (m *scriptedModel) recordBody(b []byte) {
	m.mu.Lock()
	m.bodies = append(m.bodies, append([]byte(nil), b...))
	m.mu.Unlock()
}

// RequestsContaining counts the model requests, from the from-th on, whose
// body holds s (as the JSON carries it).
func (m *scriptedModel) RequestsContaining(from int, s string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.bodies[min(from, len(m.bodies)):] {
		if strings.Contains(string(b), s) {
			n++
		}
	}
	return n
}

// Requests returns how many model requests were recorded.
func (m *scriptedModel) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.bodies)
}

func (m *scriptedModel) recordCall(name string) {
	m.mu.Lock()
	m.toolCalls = append(m.toolCalls, name)
	m.mu.Unlock()
}

// scenarioOf finds the marker in a prompt.
func scenarioOf(text string) string {
	for _, s := range []string{scenarioEgress, scenarioCurlOK, scenarioCurl, scenarioHello} {
		if strings.Contains(text, s) {
			return s
		}
	}
	return ""
}

// step is what the model does next: call a tool (Tool, with Args, or
// with Code for a freeform one) or answer Text.
type step struct {
	Tool string
	Args map[string]any
	Code string
	Text string
}

// Tools the CLIs put between the model and the tools it wants.
const (
	// claudeToolSearch loads the schema of a deferred tool (Claude Code
	// defers MCP tools) so the model can call it.
	claudeToolSearch = "ToolSearch"
	// claudeEgressTool is request_egress as Claude Code names it.
	claudeEgressTool = "mcp__bot-bottle__request_egress"
	// codexExec is Codex's code mode: one freeform tool running
	// JavaScript that calls the other tools (tools.exec_command, the MCP
	// tools) and returns what the script text()s.
	codexExec = "exec"
)

// nextStep decides a turn. tools are the names the CLI offered, lastTool
// the tool the model called last, result that tool's result when this
// turn carries one.
func nextStep(scenario string, tools []string, lastTool string, hasResult bool, result string) step {
	if hasResult && lastTool != claudeToolSearch {
		return step{Text: finalAnswerHead + " " + oneLine(result, 400)}
	}
	find := func(suffix ...string) string {
		for _, want := range suffix {
			for _, t := range tools {
				if t == want || strings.HasSuffix(t, "__"+want) {
					return t
				}
			}
		}
		return ""
	}
	exec := find(codexExec)
	switch scenario {
	case scenarioHello, "":
		return step{Text: helloAnswer}
	case scenarioEgress:
		args := map[string]any{"host": "denied.test", "path_prefixes": []string{"/secret-plans"},
			"methods": []string{"GET"}, "justification": "the scripted model needs the plans"}
		name := find("request_egress")
		switch {
		case name != "":
			return step{Tool: name, Args: args}
		case lastTool == claudeToolSearch:
			return step{Tool: claudeEgressTool, Args: args}
		case find(claudeToolSearch) != "":
			return step{Tool: claudeToolSearch, Args: map[string]any{"query": "select:" + claudeEgressTool}}
		case exec != "":
			a, _ := json.Marshal(args)
			// The MCP tool is deferred: find it among ALL_TOOLS.
			return step{Tool: exec, Code: `const t = ALL_TOOLS.find(t => /request_egress$/.test(t.name));
if (!t) { text("no request_egress among " + ALL_TOOLS.map(t => t.name).join(",")); exit(); }
const f = tools[t.name] || tools[t.name.replace(/[^A-Za-z0-9_$]/g, "_")];
const r = await f(` + string(a) + `);
text(JSON.stringify(r));`}
		}
		return step{Text: "bb-no-request-egress-tool offered: " + strings.Join(tools, ",")}
	case scenarioCurl, scenarioCurlOK:
		url := deniedURL
		if scenario == scenarioCurlOK {
			url = allowedURL
		}
		cmd := "curl -sS " + url + "; echo; echo curl-exit=$?"
		if find("Bash", "exec_command", "shell_command", "shell") == "" && exec != "" {
			c, _ := json.Marshal(cmd)
			return step{Tool: exec, Code: `const r = await tools.exec_command({cmd: ` + string(c) + `});
text(typeof r === "string" ? r : r.output);`}
		}
		switch name := find("Bash", "exec_command", "shell_command", "shell"); name {
		case "Bash":
			return step{Tool: name, Args: map[string]any{"command": cmd, "description": "fetch a page"}}
		case "exec_command":
			return step{Tool: name, Args: map[string]any{"cmd": cmd}}
		case "shell_command":
			return step{Tool: name, Args: map[string]any{"command": cmd}}
		case "shell":
			return step{Tool: name, Args: map[string]any{"command": []string{"sh", "-c", cmd}}}
		}
		return step{Text: "bb-no-shell-tool offered: " + strings.Join(tools, ",")}
	}
	return step{Text: helloAnswer}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a request body, decoding the zstd Codex sends.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	return decodeContent(r.Header.Get("Content-Encoding"), body)
}
