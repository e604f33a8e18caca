package events_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The channel runs inside a standalone sidecar: it must never pull in the
// parts of bot-bottle nearer the edge, or the CLI.
func TestDependencyArrows(t *testing.T) {
	forbidden := map[string]string{
		"github.com/bot-bottle/bot-bottle/planner":     "events sits below the planner",
		"github.com/bot-bottle/bot-bottle/launcher":    "events sits below the launcher",
		"github.com/bot-bottle/bot-bottle/review":      "review subscribes to events, not the reverse",
		"github.com/bot-bottle/bot-bottle/mcp":         "the MCP server subscribes to events, not the reverse",
		"github.com/bot-bottle/bot-bottle/egressproxy": "the proxy publishes to events, not the reverse",
		"github.com/spf13/cobra":                       "CLI only: events runs in the standalone sidecar",
		"github.com/mark3labs/mcp-go":                  "MCP belongs to the mcp package",
	}
	for _, pkg := range []string{".", "./sqlite"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if why, bad := forbidden[dep]; bad {
				t.Errorf("%s imports %s: %s", pkg, dep, why)
			}
		}
	}
}
