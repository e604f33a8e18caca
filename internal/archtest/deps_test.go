package archtest

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/bot-bottle/bot-bottle"

// rule is what one package (with every package below it, when tree is set)
// may never import, directly or through another package, each with its
// reason; and, when only is set, the project packages it may import at all.
type rule struct {
	tree      bool
	forbidden map[string]string
	only      []string // project packages allowed (nil: any not forbidden)
}

var (
	cli    = map[string]string{"github.com/spf13/cobra": "CLI only: flags and commands live in internal/cli"}
	mcpgo  = map[string]string{"github.com/mark3labs/mcp-go/mcp": "MCP belongs to the mcp package", "github.com/mark3labs/mcp-go/server": "MCP belongs to the mcp package"}
	goprox = map[string]string{"github.com/elazarl/goproxy": "goproxy belongs to egressproxy"}
	store  = map[string]string{"modernc.org/sqlite": "SQLite belongs to events/sqlite"}
	docker = map[string]string{"github.com/moby/moby/client": "Docker belongs to launcher/docker"}
	natsgo = map[string]string{"github.com/nats-io/nats.go": "NATS belongs to events/natsjs; the others see an events.Store"}
	// The server is a test fixture: bot-bottle is only ever a NATS client.
	natsd = map[string]string{"github.com/nats-io/nats-server/v2/server": "the NATS server only runs in tests (internal/natstest)"}
)

// edge forbids the project packages nearer the edge than the package.
func edge(why string, pkgs ...string) map[string]string {
	m := map[string]string{}
	for _, p := range pkgs {
		m[module+"/"+p] = why
	}
	return m
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// rules is ARCHITECTURE.md's arrows: main -> mcp -> launcher, review -> planner,
// egressproxy, events -> schemas, dlp; egressproxy and events run standalone.
var rules = map[string]rule{
	"schemas": {only: []string{"schemas"},
		forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)},
	"planner": {only: []string{"planner", "schemas", "internal/atomicfile", "internal/beneath"},
		forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)},
	// The detectors are shared by the proxy and the git gate: they sit in
	// the core and import nothing of the project.
	"dlp": {tree: true, only: []string{"dlp", "dlp/dlptest"},
		forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)},
	"egressproxy": {
		forbidden: merge(natsgo, natsd, edge("the sidecar runs standalone, from a routes file", "planner", "launcher", "review", "mcp"),
			cli, mcpgo, store, docker)},
	"egressproxy/sidecar": {
		forbidden: merge(natsgo, natsd, edge("the standalone sidecar is the proxy and its event delivery, nothing nearer the edge", "planner", "launcher", "review", "mcp"),
			cli, mcpgo, store, docker)},
	"internal/promserve": {only: []string{"internal/promserve"}, forbidden: cli},
	"events": {tree: true,
		forbidden: merge(natsgo, natsd, edge("events carries what others produce; the proxy publishes to it, never the reverse",
			"planner", "egressproxy", "launcher", "review", "mcp"), cli, mcpgo, goprox, docker)},
	"launcher": {tree: true,
		forbidden: merge(natsgo, natsd, edge("launcher and review are peers that mcp wires; mcp uses the launcher", "review", "mcp"), cli, mcpgo)},
	"launcher/bottleinit": {tree: true, only: []string{"launcher/bottleinit", "schemas"},
		forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)}, // the in-bottle init stays small: it runs in every bottle
	// The init-only binary is the point of itself: what the init needs and
	// nothing else, so each bottle starts and holds little.
	"cmd/bot-bottle-init": {only: []string{"cmd/bot-bottle-init", "launcher/bottleinit", "schemas"},
		forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)},
	"review": {tree: true,
		forbidden: merge(natsgo, natsd, edge("review is nearer the core than mcp", "mcp", "launcher"), cli, mcpgo, docker)},
	// The git gate is core-ish like the proxy: the owner's wiring (the
	// launcher) starts it, review answers it through an interface.
	"gitgate": {tree: true, only: []string{"gitgate", "schemas", "dlp"},
		forbidden: merge(natsgo, natsd, edge("the gate sits beside the proxy; the owner's wiring starts it", "planner", "launcher", "review", "mcp", "egressproxy", "events"),
			cli, mcpgo, goprox, store, docker)},
	// The terminal desk renders what review decides; it reaches bottles
	// only through the desk.
	"review/terminal": {only: []string{"review/terminal", "review", "schemas", "events", "events/internal/bell", "planner", "internal/atomicfile", "internal/beneath"},
		forbidden: merge(natsgo, natsd, edge("review is nearer the core than mcp", "mcp", "launcher"), cli, mcpgo, goprox, docker)},
	"mcp": {tree: true, forbidden: merge(cli, natsd)},
	// The NATS store is a store like SQLite's: the channel's interface
	// and the data shapes, nothing nearer the edge.
	"events/natsjs": {only: []string{"events/natsjs", "events", "events/internal/bell", "schemas", "internal/atomicfile"},
		forbidden: merge(cli, mcpgo, goprox, store, docker, natsd)},
	"internal/natstest": {only: []string{"internal/natstest"}, forbidden: merge(cli, store, natsgo)},
	"internal/cli":      {forbidden: natsd},
	"hostconfig":        {only: []string{"hostconfig", "internal/atomicfile"}, forbidden: cli},
	// What a bottle writes to a person's terminal is filtered by one small
	// package that needs nothing else.
	"internal/termguard": {only: []string{"internal/termguard"}, forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)},
	// Reading an untrusted folder is one small package's worth of code.
	"internal/beneath": {only: []string{"internal/beneath"}, forbidden: merge(natsgo, natsd, cli, mcpgo, goprox, store, docker)},
}

// events/sqlite may use SQLite; the events package itself may not.
var exceptions = map[string]map[string]bool{
	"events/sqlite": {"modernc.org/sqlite": true},
}

func TestDependencyArrows(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for pkg, r := range rules {
		t.Run(pkg, func(t *testing.T) {
			target := "./" + pkg
			if r.tree {
				target += "/..."
			}
			list := exec.Command("go", "list", target)
			list.Dir = root
			out, err := list.Output()
			if err != nil {
				t.Fatalf("go list %s: %v", target, err)
			}
			for _, p := range strings.Fields(string(out)) {
				rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
				if rel != pkg && rules[rel].forbidden != nil {
					continue // a subpackage with rules of its own
				}
				checkPackage(t, root, rel, r)
			}
		})
	}
}

func checkPackage(t *testing.T, root, rel string, r rule) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "./"+rel)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./%s: %v", rel, err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if exceptions[rel][dep] {
			continue
		}
		if why, bad := r.forbidden[dep]; bad {
			t.Errorf("%s imports %s: %s", rel, dep, why)
		}
		if proj, ok := strings.CutPrefix(dep, module+"/"); ok && r.only != nil && !slices.Contains(r.only, proj) {
			t.Errorf("%s imports %s: it may import only %v of the project", rel, dep, r.only)
		}
	}
}

// The module root is the entry point and nothing else: it hands the process
// to internal/cli, which only the root may import.
func TestMainOnlyWires(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	list := exec.Command("go", "list", "-f", "{{join .Imports \" \"}}", ".")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list .: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if imp != "os" && imp != module+"/internal/cli" {
			t.Errorf("main imports %s: main.go only calls cli.Run; logic belongs in a package", imp)
		}
	}
	all := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	all.Dir = root
	out, err = all.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == module {
			continue
		}
		if slices.Contains(f[1:], module+"/internal/cli") {
			t.Errorf("%s imports internal/cli: the commands are the edge; nothing else builds on them", f[0])
		}
	}
}
