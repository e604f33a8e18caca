package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ask is what a hostile agent does with its bottle's agent surface: it is
// denied on a path of its choosing, then calls request_egress at
// $BOT_BOTTLE_MCP_URL (official Go SDK, streamable HTTP) for host with
// the justification read from file, citing the denial. It prints
// "denied STATUS DENIAL-ID" and then, once the call returns (the
// operator decided), "asked STATUS PROPOSAL-ID".
func ask(host, file, path string) error {
	justification, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("https://" + host + path)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	denial := resp.Header.Get("X-Bot-Bottle-Denial")
	fmt.Printf("denied %d %s\n", resp.StatusCode, denial)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "hostile-agent", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: os.Getenv("BOT_BOTTLE_MCP_URL"), DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return fmt.Errorf("connect %s: %w", os.Getenv("BOT_BOTTLE_MCP_URL"), err)
	}
	defer cs.Close()
	args := map[string]any{"host": host, "path_prefixes": []string{"/simple/"}, "methods": []string{"GET"},
		"justification": string(justification), "denial_id": denial}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "request_egress", Arguments: args})
	for {
		if err != nil {
			return fmt.Errorf("request_egress: %w", err)
		}
		if res.IsError {
			var text []string
			for _, c := range res.Content {
				if tc, ok := c.(*mcp.TextContent); ok {
					text = append(text, tc.Text)
				}
			}
			return fmt.Errorf("request_egress: tool error: %s", strings.Join(text, "; "))
		}
		var out struct {
			Status     string `json:"status"`
			ProposalID string `json:"proposal_id"`
		}
		raw, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Errorf("request_egress: %s: %w", raw, err)
		}
		if out.Status != "pending" {
			fmt.Printf("asked %s %s\n", out.Status, out.ProposalID)
			return nil
		}
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "proposal_status", Arguments: map[string]any{"id": out.ProposalID, "wait_seconds": 60}})
	}
}
