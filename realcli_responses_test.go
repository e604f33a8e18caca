package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/klauspost/compress/zstd"
)

// The Responses API as Codex uses it: a WebSocket at .../responses whose
// text frames are response.create requests and response.* events (Codex's
// default with a ChatGPT login), or POST .../responses streamed as
// server-sent events, its body zstd-compressed when Codex chooses to.

type responsesRequest struct {
	Type  string            `json:"type"`
	Input []json.RawMessage `json:"input"`
	Tools []json.RawMessage `json:"tools"`
	// Generate false is Codex's warm-up: it wants the response ids, no
	// output.
	Generate *bool `json:"generate"`
}

type responsesItem struct {
	Type    string            `json:"type"`
	Role    string            `json:"role"`
	Content json.RawMessage   `json:"content"`
	Output  json.RawMessage   `json:"output"`
	CallID  string            `json:"call_id"`
	Tools   []json.RawMessage `json:"tools"`
}

// toolNames lists the tools a request offers, namespaced ones included.
func toolNames(tools []json.RawMessage) []string {
	var out []string
	for _, raw := range tools {
		var t struct {
			Type  string            `json:"type"`
			Name  string            `json:"name"`
			Tools []json.RawMessage `json:"tools"`
		}
		if json.Unmarshal(raw, &t) != nil {
			continue
		}
		if len(t.Tools) > 0 {
			for _, n := range toolNames(t.Tools) {
				out = append(out, t.Name+"__"+n)
			}
			continue
		}
		if t.Name != "" {
			out = append(out, t.Name)
		}
	}
	return out
}

// itemText flattens a content or output field: a string, or a list of
// parts with text.
func itemText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var out []string
		for _, p := range parts {
			out = append(out, p.Text)
		}
		return strings.Join(out, "\n")
	}
	var obj struct {
		Content json.RawMessage `json:"content"`
		Output  string          `json:"output"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if obj.Output != "" {
			return obj.Output
		}
		return itemText(obj.Content)
	}
	return string(raw)
}

// responsesTurn is one Responses conversation's memory: the scenario its
// first prompt named (later requests may carry only new items).
type responsesTurn struct {
	scenario string
	lastTool string
	tools    []string // offered in an earlier request of the connection
	n        atomic.Int64
}

// decide reads a request and returns the step and the events answering it.
func (m *scriptedModel) decide(conv *responsesTurn, req responsesRequest) []map[string]any {
	id := fmt.Sprintf("resp_bb%d", conv.n.Add(1))
	usage := map[string]any{"input_tokens": 10, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": 5, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 15}
	created := map[string]any{"type": "response.created", "response": map[string]any{"id": id}}
	completed := map[string]any{"type": "response.completed", "response": map[string]any{"id": id, "usage": usage}}
	if req.Generate != nil && !*req.Generate {
		return []map[string]any{created, completed}
	}
	hasResult, result := false, ""
	var texts []string
	var additional []json.RawMessage
	for _, raw := range req.Input {
		var it responsesItem
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		switch it.Type {
		case "additional_tools":
			additional = append(additional, it.Tools...)
		case "message", "":
			if it.Role == "user" {
				texts = append(texts, itemText(it.Content))
				if s := scenarioOf(itemText(it.Content)); s != "" {
					conv.scenario = s
				}
			}
			hasResult = false // a new user message after a result starts over
		case "function_call_output", "custom_tool_call_output", "mcp_tool_call_output":
			hasResult, result = true, itemText(it.Output)
		}
	}
	if tools := append(toolNames(req.Tools), toolNames(additional)...); len(tools) > 0 {
		conv.tools = tools // Codex sends its tools once, then only changes
	}
	st := nextStep(conv.scenario, conv.tools, conv.lastTool, hasResult, result)
	m.recordPrompts(texts)
	if hasResult {
		m.recordResult(result)
	}
	var item map[string]any
	if st.Tool != "" {
		m.recordCall(st.Tool)
		conv.lastTool = st.Tool
		name, namespace := st.Tool, ""
		if i := strings.LastIndex(name, "__"); i > 0 && !strings.HasPrefix(name, "mcp__") {
			namespace, name = name[:i], name[i+2:]
		}
		if st.Code != "" {
			item = map[string]any{"type": "custom_tool_call", "id": "ctc_" + id, "call_id": "call_" + id, "name": name, "input": st.Code, "status": "completed"}
		} else {
			args, _ := json.Marshal(st.Args)
			item = map[string]any{"type": "function_call", "id": "fc_" + id, "call_id": "call_" + id, "name": name, "arguments": string(args)}
		}
		if namespace != "" && namespace != "functions" {
			item["namespace"] = namespace
		}
	} else {
		item = map[string]any{"type": "message", "role": "assistant", "id": "msg_" + id, "status": "completed",
			"content": []any{map[string]any{"type": "output_text", "text": st.Text, "annotations": []any{}}}}
	}
	return []map[string]any{created,
		{"type": "response.output_item.added", "output_index": 0, "item": item},
		{"type": "response.output_item.done", "output_index": 0, "item": item},
		completed}
}

func (m *scriptedModel) serveResponses(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		m.serveResponsesWS(w, r)
		return
	}
	body, err := readBody(r)
	var req responsesRequest
	if err == nil {
		m.recordBody(body)
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, ev := range m.decide(&responsesTurn{}, req) {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev["type"], b)
	}
}

func (m *scriptedModel) serveResponsesWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(32 << 20)
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	conv := &responsesTurn{}
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if data, err = decodeContent("zstd", data); err != nil {
				_ = c.Close(websocket.StatusUnsupportedData, "binary frame is not zstd")
				return
			}
		}
		if d := os.Getenv("BB_DUMP"); d != "" {
			_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("ws-%d.json", time.Now().UnixNano())), data, 0o644)
		}
		m.recordBody(data)
		var req responsesRequest
		if err := json.Unmarshal(data, &req); err != nil || req.Type != "response.create" {
			continue
		}
		for _, ev := range m.decide(conv, req) {
			b, _ := json.Marshal(ev)
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				return
			}
		}
	}
}

// decodeContent undoes a Content-Encoding the scripted model accepts.
func decodeContent(enc string, body []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		return body, nil
	case "zstd":
		d, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return io.ReadAll(io.LimitReader(d, 64<<20))
	}
	return nil, fmt.Errorf("content encoding %q", enc)
}
