package launcher_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyArrows: the launcher sits between the planner, proxy and
// channel (which it uses) and the MCP server and CLI (which use it).
func TestDependencyArrows(t *testing.T) {
	forbidden := map[string]string{
		"github.com/spf13/cobra":                  "CLI only: the MCP server launches bottles without the CLI",
		"github.com/bot-bottle/bot-bottle/mcp":    "mcp uses the launcher, never the reverse",
		"github.com/bot-bottle/bot-bottle/review": "review applies decisions to a bottle's proxy through the launcher's API",
		"github.com/mark3labs/mcp-go/server":      "the agent surface is an http.Handler given at launch",
	}
	for _, pkg := range []string{".", "./bottleinit", "./netns", "./docker"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			if why, bad := forbidden[d]; bad {
				t.Errorf("%s imports %s: %s", pkg, d, why)
			}
		}
		if pkg == "./bottleinit" {
			for _, d := range deps {
				if strings.HasPrefix(d, "github.com/bot-bottle/bot-bottle/") && d != "github.com/bot-bottle/bot-bottle/schemas" &&
					!strings.HasPrefix(d, "github.com/bot-bottle/bot-bottle/launcher/bottleinit") {
					t.Errorf("bottleinit imports %s: the in-bottle init must stay small (it runs in every bottle)", d)
				}
			}
		}
	}
}
