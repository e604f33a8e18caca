package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// toolFunc is a tool's logic: typed arguments in; a value for programs
// (the structured content), a text for a model or a person, or an error.
type toolFunc[A, R any] func(ctx context.Context, args A) (R, string, error)

// handle adapts fn to mcp-go: it checks the arguments against the tool's
// input schema (unknown, missing and mistyped ones are refused), and what
// fn returns becomes structured content with its text, its error an MCP
// tool error (isError), never a JSON-RPC error or a stack.
func handle[A, R any](v *argsValidator, fn toolFunc[A, R], hints func(error) string) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if err := v.check(req.GetRawArguments()); err != nil {
			return toolError(err, hints), nil
		}
		var args A
		if raw := req.GetRawArguments(); raw != nil {
			data, err := json.Marshal(raw)
			if err == nil {
				err = json.Unmarshal(data, &args)
			}
			if err != nil {
				return toolError(fmt.Errorf("arguments: %w", err), hints), nil
			}
		}
		if req.Params.Meta != nil && req.Params.Meta.ProgressToken != nil {
			ctx = context.WithValue(ctx, progressKey{}, req.Params.Meta.ProgressToken)
		}
		out, text, err := fn(ctx, args)
		if err != nil {
			return toolError(err, hints), nil
		}
		return mcpgo.NewToolResultStructured(out, text), nil
	}
}

type progressKey struct{}

// progressToken is the progress token the tool call carried, if any.
func progressToken(ctx context.Context) mcpgo.ProgressToken {
	tok, _ := ctx.Value(progressKey{}).(mcpgo.ProgressToken)
	return tok
}

// toolError is an MCP tool error whose text says what is wrong and, where
// the surface's hints have one, what to do next. A manifest's positioned
// errors are given verbatim, one per line.
func toolError(err error, hints func(error) string) *mcpgo.CallToolResult {
	msg := err.Error()
	var errs schemas.Errors
	if errors.As(err, &errs) && len(errs) > 0 {
		msg = fmt.Sprintf("the manifest has %d problem(s); fix each at its file:line:col and plan again:\n%s", len(errs), errs.Error())
	}
	if hints != nil {
		if hint := hints(err); hint != "" {
			msg += "\nTry: " + hint
		}
	}
	return mcpgo.NewToolResultError(msg)
}

// operatorHint suggests the operator surface's next call for the errors a
// host model can recover from. Only operator tools are named.
func operatorHint(err error) string {
	switch {
	case errors.Is(err, launcher.ErrUnknownBottle):
		return "bottle_list (all: true) shows the bottles this machine knows"
	case errors.Is(err, planner.ErrBottleNotFound):
		return "bottle_plan with an inline manifest, or add the bottle to the home's bottles folder"
	case errors.Is(err, review.ErrUnknownProposal):
		return "egress_proposals lists the proposals and their ids"
	case errors.Is(err, review.ErrNotPending):
		return "egress_proposals (status: pending) lists what still waits for a decision"
	case errors.Is(err, review.ErrExpired):
		return "egress_proposals (status: pending) lists what can still be decided; the agent can ask again from a new bottle"
	case errors.Is(err, review.ErrBottleGone):
		return "bottle_list shows what runs; the agent can ask again from a new bottle"
	}
	return ""
}

// agentHint suggests an agent's next step. It never names an operator
// tool: an agent cannot call one, and must not be told to.
func agentHint(err error) string {
	var rl *review.RateLimitError
	switch {
	case errors.Is(err, review.ErrUnknownProposal):
		return "use the proposal_id request_egress returned; a new request_egress makes a new proposal"
	case errors.As(err, &rl):
		return "proposal_status with a pending proposal's id waits for its decision"
	}
	return ""
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
