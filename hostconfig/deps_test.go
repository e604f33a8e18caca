package hostconfig_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyArrows: hostconfig renders and merges files; it knows
// nothing of bottles, proxies or the MCP server it points clients at.
func TestDependencyArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{
		"github.com/bot-bottle/bot-bottle/hostconfig":          true,
		"github.com/bot-bottle/bot-bottle/internal/atomicfile": true,
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "github.com/bot-bottle/bot-bottle/") && !allowed[d] {
			t.Errorf("hostconfig imports %s: it sits at the edge, used only by the CLI, and needs no other project package", d)
		}
		if d == "github.com/spf13/cobra" {
			t.Errorf("hostconfig imports cobra: flags belong to cmd_mcpconfig.go")
		}
	}
}
