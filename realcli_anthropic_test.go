package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Anthropic Messages API as Claude Code uses it: POST /v1/messages,
// streamed as server-sent events when the request asks for it.

// anthropicMessage is one message of a request's conversation.
type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anthropicRequest struct {
	Messages []anthropicMessage `json:"messages"`
	Tools    []struct {
		Name string `json:"name"`
	} `json:"tools"`
	Stream bool   `json:"stream"`
	Model  string `json:"model"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	Text      string          `json:"text"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

// blocks returns a message's content as blocks (a plain string is one text
// block).
func blocks(raw json.RawMessage) []anthropicBlock {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []anthropicBlock{{Type: "text", Text: s}}
	}
	var bs []anthropicBlock
	_ = json.Unmarshal(raw, &bs)
	return bs
}

// resultText flattens a tool_result's content.
func (b anthropicBlock) resultText() string {
	var parts []string
	for _, c := range blocks(b.Content) {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "\n")
}

// lastTurn is the index of the last user or assistant message, -1 if
// none. Claude Code may end a request with a system message after the
// tool results: when an MCP server's tools reach it after its first
// request, it announces them ("The following deferred tools are now
// available") as a system message appended to every later request.
func lastTurn(msgs []anthropicMessage) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != "system" {
			return i
		}
	}
	return -1
}

func (m *scriptedModel) serveAnthropic(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if d := os.Getenv("BB_DUMP"); d != "" {
		_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("anth-%d.json", time.Now().UnixNano())), body, 0o644)
	}
	var req anthropicRequest
	if err == nil {
		m.recordBody(body)
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	scenario := ""
	var texts []string
	lastTool := ""
	for _, msg := range req.Messages {
		if msg.Role == "assistant" {
			for _, b := range blocks(msg.Content) {
				if b.Type == "tool_use" {
					lastTool = b.Name
				}
			}
		}
		if msg.Role == "user" {
			for _, b := range blocks(msg.Content) {
				if b.Type != "text" {
					continue
				}
				texts = append(texts, b.Text)
				if s := scenarioOf(b.Text); s != "" {
					scenario = s
				}
			}
		}
	}
	var tools []string
	for _, t := range req.Tools {
		tools = append(tools, t.Name)
	}
	hasResult, result := false, ""
	if last := lastTurn(req.Messages); last >= 0 && req.Messages[last].Role == "user" {
		for _, b := range blocks(req.Messages[last].Content) {
			if b.Type == "tool_result" {
				hasResult, result = true, b.resultText()
			}
		}
	}
	// Side requests (titles, summaries) offer no tools: answer them plainly
	// so they never consume the scenario.
	st := step{Text: "ok"}
	if len(tools) > 0 {
		st = nextStep(scenario, tools, lastTool, hasResult, result)
	}
	if len(tools) > 0 {
		m.recordPrompts(texts)
		if hasResult && lastTool != claudeToolSearch {
			m.recordResult(result)
		}
	}
	if st.Tool != "" {
		m.recordCall(st.Tool)
	}
	content := map[string]any{"type": "text", "text": st.Text}
	stop := "end_turn"
	if st.Tool != "" {
		content = map[string]any{"type": "tool_use", "id": fmt.Sprintf("toolu_bb%d", len(m.ToolCalls())), "name": st.Tool, "input": st.Args}
		stop = "tool_use"
	}
	usage := map[string]any{"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	msg := map[string]any{"id": "msg_bb", "type": "message", "role": "assistant", "model": req.Model,
		"stop_sequence": nil, "usage": usage}
	if !req.Stream {
		msg["content"], msg["stop_reason"] = []any{content}, stop
		writeJSON(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func(event string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	}
	msg["content"], msg["stop_reason"] = []any{}, nil
	send("message_start", map[string]any{"type": "message_start", "message": msg})
	if st.Tool != "" {
		args, _ := json.Marshal(st.Args)
		start := map[string]any{"type": "tool_use", "id": content["id"], "name": st.Tool, "input": map[string]any{}}
		send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": start})
		send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "input_json_delta", "partial_json": string(args)}})
	} else {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
		send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": st.Text}})
	}
	send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": 5}})
	send("message_stop", map[string]any{"type": "message_stop"})
}

// TestScriptedModelTrailingSystem: the tool result of a request that ends
// with a system message (Claude Code's announcement of MCP tools that
// reached it after its first request) is the model's to read: it answers,
// rather than calling the tool again forever.
func TestScriptedModelTrailingSystem(t *testing.T) {
	m := newScriptedModel(t)
	body := `{"model":"m","tools":[{"name":"` + claudeEgressTool + `"}],"messages":[
{"role":"user","content":"` + scenarioEgress + `: ask for the plans"},
{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"` + claudeEgressTool + `","input":{}}]},
{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"approved: retry your request"}]}]},
{"role":"system","content":[{"type":"text","text":"The following deferred tools are now available via ToolSearch."}]}]}`
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body)))
	if got := m.ToolResults(); len(got) != 1 || !strings.Contains(got[0], "approved") {
		t.Errorf("the model read %q, want the approval", got)
	}
	if calls := m.ToolCalls(); len(calls) != 0 || !strings.Contains(rec.Body.String(), finalAnswerHead) {
		t.Errorf("the model called %q and answered %s, want the final answer", calls, rec.Body.String())
	}
}
