package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*/*.txtar")

// goldenCase is one txtar archive: bottles/* are written to a fresh home,
// `env` holds the host environment (KEY=VALUE lines), codex/auth.json is the
// host's Codex login if present, `docker-runtimes` the runtimes the host's
// Docker has registered (one line; "unreachable" for a Docker that cannot
// be asked), and the bottle called `main` is planned.
type goldenCase struct {
	path    string
	archive *txtar.Archive
	planner *Planner
	home    string
}

func loadGolden(t *testing.T, path string) *goldenCase {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := map[string]string{}
	var runtime func(string) (string, error)
	for _, f := range a.Files {
		switch {
		case f.Name == "docker-runtimes":
			line := strings.TrimSpace(string(f.Data))
			runtime = func(requested string) (string, error) {
				if line == "unreachable" {
					return "", errors.New("cannot reach the Docker daemon")
				}
				return schemas.ResolveRuntime(requested, strings.Fields(line))
			}
		case f.Name == "env":
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					env[k] = v
				}
			}
		case strings.HasPrefix(f.Name, "bottles/"), strings.HasPrefix(f.Name, "codex/"):
			p := filepath.Join(home, f.Name)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &goldenCase{path: path, archive: a, home: home,
		planner: &Planner{Home: home, Env: env, CodexAuthFile: filepath.Join(home, "codex", "auth.json"), DockerRuntime: runtime}}
}

// check compares got with the archive's section name, or rewrites it.
func (g *goldenCase) check(t *testing.T, section, got string) {
	t.Helper()
	got = strings.ReplaceAll(got, g.home, "$HOME")
	for i, f := range g.archive.Files {
		if f.Name != section {
			continue
		}
		if *update {
			g.archive.Files[i].Data = []byte(got)
			if err := os.WriteFile(g.path, txtar.Format(g.archive), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if string(f.Data) != got {
			t.Errorf("%s: %s differs\n--- got\n%s--- want\n%s", g.path, section, got, f.Data)
		}
		return
	}
	if *update {
		g.archive.Files = append(g.archive.Files, txtar.File{Name: section, Data: []byte(got)})
		if err := os.WriteFile(g.path, txtar.Format(g.archive), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: no %q section (run with -update)", g.path, section)
}

// secretValues returns the env values a case marks as secret (containing
// "SECRET"), which must never appear in any output.
func (g *goldenCase) secretValues() []string {
	var out []string
	for _, v := range g.planner.Env {
		if strings.Contains(v, "SECRET") {
			out = append(out, v)
		}
	}
	return out
}

func TestPlanGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/plan/*.txtar")
	if len(files) < 8 {
		t.Fatalf("only %d plan cases", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			g := loadGolden(t, path)
			plan, err := g.planner.Plan("main")
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			js, _ := json.MarshalIndent(plan, "", "  ")
			g.check(t, "want.json", string(js)+"\n")
			validateAgainstSchema(t, "plan", js)
			var text bytes.Buffer
			if err := FormatPlan(&text, plan); err != nil {
				t.Fatal(err)
			}
			g.check(t, "want.txt", text.String())
			routes, err := RenderRoutes(plan)
			if err != nil {
				t.Fatal(err)
			}
			g.check(t, "want.routes.yaml", string(routes))

			// The routes file parses back into the same table, and names no
			// host variable; no output holds a secret value.
			rf, err := schemas.ParseRoutes("routes.yaml", routes)
			if err != nil {
				t.Fatalf("rendered routes file does not parse: %v", err)
			}
			rfJSON, _ := json.Marshal(rf)
			validateAgainstSchema(t, "routes", rfJSON)
			if len(rf.Routes) != len(plan.Routes) {
				t.Fatalf("routes file has %d routes, plan %d", len(rf.Routes), len(plan.Routes))
			}
			for _, s := range plan.Slots {
				if strings.Contains(string(routes), s.TokenRef) {
					t.Errorf("routes file names host variable %s", s.TokenRef)
				}
			}
			for _, secret := range g.secretValues() {
				for name, out := range map[string]string{"json": string(js), "text": text.String(), "routes": string(routes)} {
					if strings.Contains(out, secret) {
						t.Errorf("%s output holds a secret value", name)
					}
				}
			}
		})
	}
}

func TestPlanErrorsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/errors/*.txtar")
	if len(files) < 10 {
		t.Fatalf("only %d error cases", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			g := loadGolden(t, path)
			_, err := g.planner.Plan("main")
			if err == nil {
				t.Fatal("plan succeeded; want an error")
			}
			for _, secret := range g.secretValues() {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error holds a secret value: %v", err)
				}
			}
			g.check(t, "want", err.Error()+"\n")
		})
	}
}

// validateAgainstSchema checks a JSON document against an embedded schema
// with a real JSON Schema validator.
func validateAgainstSchema(t *testing.T, name string, doc []byte) {
	t.Helper()
	raw, err := schemas.JSONSchema(name)
	if err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://"+name, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://" + name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("output does not match the %s schema: %v", name, err)
	}
}
