package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// ProtocolVersions are the MCP revisions both surfaces serve, newest
// first. mcp-go v1.2.1 also implements the unreleased stateless revision
// 2026-07-28 and prefers it, but in that revision a server cannot push
// notifications to a session (no resources/updated, no logging), and the
// clients people use today (Claude Code, Codex, the official SDKs' stable
// releases) speak these.
var ProtocolVersions = []string{
	mcpgo.ProtocolVersion20251125,
	mcpgo.ProtocolVersion20250618,
	mcpgo.ProtocolVersion20250326,
}

// refuseModernRequests is an OnRequestInitialization hook that answers any
// request declaring a stateless-era protocol version in its _meta with an
// error. The streamable HTTP transport is pinned with its own option; this
// hook pins stdio, SSE and in-process sessions the same way. Clients that
// probe with server/discover first (mcp-go's, the official Go SDK's) take
// the error as "not a modern server" and fall back to initialize.
func refuseModernRequests(_ context.Context, _ any, message any) error {
	raw, ok := message.(json.RawMessage)
	if !ok {
		return nil
	}
	var wrapper struct {
		Method string `json:"method"`
		Params struct {
			Meta *mcpgo.Meta `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &wrapper) != nil {
		return nil
	}
	v := wrapper.Params.Meta.ProtocolVersion()
	if mcpgo.IsModernProtocol(v) || wrapper.Method == string(mcpgo.MethodServerDiscover) || wrapper.Method == string(mcpgo.MethodSubscriptionsListen) {
		if v == "" {
			v = mcpgo.ProtocolVersion20260728
		}
		return fmt.Errorf("protocol version %s is not served here: bot-bottle speaks MCP %s; start with initialize",
			v, strings.Join(ProtocolVersions, ", "))
	}
	return nil
}

// pinnedHooks returns hooks with the protocol pin installed.
func pinnedHooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRequestInitialization(refuseModernRequests)
	return h
}

// requireInitialized is an OnRequestInitialization hook of the operator
// surface: a request on a session that never sent initialize is refused
// (ping excepted). A client that reconnects its SSE stream after the
// server restarted gets a new session; served without initialize it would
// silently miss its subscriptions and log level, so it is told to start
// over instead.
func requireInitialized(ctx context.Context, _ any, message any) error {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil || sess.Initialized() {
		return nil
	}
	raw, ok := message.(json.RawMessage)
	if !ok {
		return nil
	}
	var m struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Method == string(mcpgo.MethodInitialize) || m.Method == string(mcpgo.MethodPing) {
		return nil
	}
	return fmt.Errorf("this session was never initialized (the server may have restarted since the client connected): " +
		"reconnect and send initialize, then subscribe again")
}
