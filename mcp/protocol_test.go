package mcp

import (
	"encoding/json"
	"testing"
)

func TestRefuseModernRequests(t *testing.T) {
	for msg, refused := range map[string]bool{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}`:                                              false,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`:                                                                                        false,
		`{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`:            true,
		`{"jsonrpc":"2.0","id":4,"method":"server/discover","params":{}}`:                                                                       true,
		`{"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{}}`:                                                                  true,
		`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18"}}}`: false,
		`not json`: false,
	} {
		err := refuseModernRequests(nil, nil, json.RawMessage(msg))
		if (err != nil) != refused {
			t.Errorf("%s: %v", msg, err)
		}
	}
}
