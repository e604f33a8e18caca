package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestPersistRoute(t *testing.T) {
	pypi := schemas.Route{Host: "pypi.org", PathAllowlist: []string{"/simple/", "/a:b"}, Methods: []string{"GET"}}
	cases := []struct {
		name, file, before string
		rule               schemas.Route
		after              string
	}{
		{"append keeps comments and markdown", "main.md", `---
# my bottle
extends: claude-base   # inline comment
egress:
  routes:
    # GitHub, read only
    - host: api.github.com
      methods: [GET]

    - host: registry.npmjs.org   # npm
      tls_passthrough: true
# trailing comment
env: {A: b}
---
# Docs

Keep me.
`, pypi, `---
# my bottle
extends: claude-base   # inline comment
egress:
  routes:
    # GitHub, read only
    - host: api.github.com
      methods: [GET]

    - host: registry.npmjs.org   # npm
      tls_passthrough: true
    # approved p-1 by cli
    - host: pypi.org
      path_allowlist: [/simple/, "/a:b"]
      methods: [GET]
# trailing comment
env: {A: b}
---
# Docs

Keep me.
`},
		{"replace widens an existing route", "main.yaml", `egress:
  routes:
    - host: a.example.com
    # old comment goes with its route
    - host: API.github.com
      methods: [GET]
    - host: z.example.com
`, schemas.Route{Host: "api.github.com", Methods: []string{"GET", "POST"}}, `egress:
  routes:
    - host: a.example.com
    # approved p-1 by cli
    - host: api.github.com
      methods: [GET, POST]
    - host: z.example.com
`},
		{"no egress yet", "main.md", "---\nextends: base\n---\ntext\n", pypi, "---\nextends: base\negress:\n  routes:\n    # approved p-1 by cli\n    - host: pypi.org\n      path_allowlist: [/simple/, \"/a:b\"]\n      methods: [GET]\n---\ntext\n"},
		{"empty flow list", "main.yaml", "env: {}\negress:\n    routes: []\n", schemas.Route{Host: "x.example.com", Port: 8443},
			"env: {}\negress:\n    routes:\n      # approved p-1 by cli\n      - host: x.example.com\n        port: 8443\n"},
		{"unindented items", "main.yaml", "egress:\n  routes:\n  - host: a.example.com\n  - host: b.example.com\nenv: {}\n", schemas.Route{Host: "c.example.com"},
			"egress:\n  routes:\n  - host: a.example.com\n  - host: b.example.com\n  # approved p-1 by cli\n  - host: c.example.com\nenv: {}\n"},
		{"auth by host variable", "main.yaml", "egress:\n  routes:\n    - host: a.example.com\n", schemas.Route{Host: "a.example.com", Methods: []string{"GET"},
			Auth: &schemas.Auth{Scheme: "Bearer", TokenRef: "A_TOKEN"}},
			"egress:\n  routes:\n    # approved p-1 by cli\n    - host: a.example.com\n      methods: [GET]\n      auth: { scheme: Bearer, token_ref: A_TOKEN }\n"},
		{"empty file without newline", "main.yaml", "env: {A: b}", schemas.Route{Host: "c.example.com"},
			"env: {A: b}\negress:\n  routes:\n    # approved p-1 by cli\n    - host: c.example.com\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := newHome(t, map[string]string{c.file: c.before, "base.yaml": "{}\n", "claude-base.yaml": "{}\n"})
			p := &Planner{Home: home}
			edit, err := p.PersistRoute("main", c.rule, "approved p-1 by cli")
			if err != nil {
				t.Fatal(err)
			}
			if string(edit.After) != c.after {
				t.Fatalf("after:\n%s\nwant:\n%s", edit.After, c.after)
			}
			if !strings.Contains(edit.Diff, "+++ b/"+c.file) || !strings.Contains(edit.Diff, "+") {
				t.Fatalf("diff:\n%s", edit.Diff)
			}
			if err := edit.Write(); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(BottlesDir(home), c.file)); string(b) != c.after {
				t.Fatal("file not written")
			}
			if _, err := p.Plan("main"); err != nil {
				t.Fatalf("edited bottle does not plan: %v", err)
			}
		})
	}
}

func TestPersistRouteDiff(t *testing.T) {
	home := newHome(t, map[string]string{"main.yaml": "# head\negress:\n  routes:\n    - host: a.example.com\nenv: {A: b}\n"})
	edit, err := (&Planner{Home: home}).PersistRoute("main", schemas.Route{Host: "b.example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `--- a/main.yaml
+++ b/main.yaml
@@ -2,4 +2,5 @@
 egress:
   routes:
     - host: a.example.com
+    - host: b.example.com
 env: {A: b}
`
	if edit.Diff != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", edit.Diff, want)
	}
}

func TestPersistRouteRefuses(t *testing.T) {
	home := newHome(t, map[string]string{
		"flow.yaml":   "egress: {routes: [{host: a.example.com}]}\n",
		"flow2.yaml":  "egress:\n  routes: [{host: a.example.com}]\n",
		"broken.yaml": "egress:\n  routes:\n    - hots: a\n",
	})
	p := &Planner{Home: home}
	for name, want := range map[string]string{
		"flow":    "egress is written in flow style",
		"flow2":   "egress.routes is written in flow style",
		"broken":  "the edited bottle would not load",
		"missing": "not found",
	} {
		if _, err := p.PersistRoute(name, schemas.Route{Host: "b.example.com"}, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}
