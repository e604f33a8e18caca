package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/bot-bottle/bot-bottle"

// forbidden lists, per package, the imports it must never have (directly or
// through another package), each with the reason.
var forbidden = map[string]map[string]string{
	"schemas": {
		module + "/planner":                              "schemas is the core: it imports no project package",
		module + "/egressproxy":                          "schemas is the core",
		module + "/events":                               "schemas is the core",
		module + "/launcher":                             "schemas is the core",
		module + "/review":                               "schemas is the core",
		module + "/mcp":                                  "schemas is the core",
		"github.com/spf13/cobra":                         "CLI only",
		"github.com/elazarl/goproxy":                     "proxy only",
		"github.com/mark3labs/mcp-go/mcp":                "MCP only",
		"modernc.org/sqlite":                             "store only",
		"github.com/prometheus/client_golang/prometheus": "metrics belong to the packages that measure",
	},
	"planner": {
		module + "/egressproxy":           "the planner plans; it never runs a proxy",
		module + "/events":                "the planner is pure: no channel",
		module + "/launcher":              "planner is nearer the core than launcher",
		module + "/review":                "planner is nearer the core than review",
		module + "/mcp":                   "planner is nearer the core than mcp",
		"github.com/spf13/cobra":          "CLI only",
		"github.com/elazarl/goproxy":      "proxy only",
		"github.com/mark3labs/mcp-go/mcp": "MCP only",
		"modernc.org/sqlite":              "store only",
	},
	"egressproxy": {
		module + "/planner":               "the sidecar runs standalone from a routes file, without the planner",
		module + "/launcher":              "the sidecar runs standalone",
		module + "/review":                "the sidecar runs standalone",
		module + "/mcp":                   "the sidecar runs standalone",
		"github.com/spf13/cobra":          "CLI only: egressproxy runs standalone and in-process",
		"github.com/mark3labs/mcp-go/mcp": "MCP only",
		"modernc.org/sqlite":              "the sidecar may run where the store is not",
		"github.com/moby/moby/client":     "docker belongs to launcher/docker",
		"github.com/docker/docker/client": "docker belongs to launcher/docker",
	},
	"events": {
		module + "/planner":               "events carries what others produce; it plans nothing",
		module + "/egressproxy":           "the proxy publishes to events, not the other way",
		module + "/launcher":              "events is nearer the core",
		module + "/review":                "events is nearer the core",
		module + "/mcp":                   "events is nearer the core",
		"github.com/spf13/cobra":          "CLI only",
		"github.com/elazarl/goproxy":      "proxy only",
		"github.com/mark3labs/mcp-go/mcp": "MCP only",
		"modernc.org/sqlite":              "the interface package stays store-neutral; events/sqlite implements it",
	},
	"launcher": {
		module + "/review":                "launcher and review are peers; mcp wires them",
		module + "/mcp":                   "launcher is nearer the core than mcp",
		"github.com/spf13/cobra":          "CLI only",
		"github.com/mark3labs/mcp-go/mcp": "MCP only",
	},
	"review": {
		module + "/mcp":          "review is nearer the core than mcp",
		"github.com/spf13/cobra": "CLI only",
	},
	"mcp": {
		"github.com/spf13/cobra": "CLI only",
	},
}

func TestDependencyArrows(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for pkg, rules := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
				t.Skipf("package %s does not exist yet", pkg)
			}
			cmd := exec.Command("go", "list", "-deps", "./"+pkg)
			cmd.Dir = root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./%s: %v", pkg, err)
			}
			deps := map[string]bool{}
			for _, d := range strings.Fields(string(out)) {
				deps[d] = true
			}
			for dep, why := range rules {
				if deps[dep] {
					t.Errorf("%s imports %s: %s", pkg, dep, why)
				}
			}
		})
	}
}
