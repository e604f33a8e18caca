package planner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// agentCase is one archive of testdata/agents: files under home/ go to
// the bot-bottle home, under repo/ to the repository (the launch workdir,
// or its subfolder named by a `workdir` file), under outside/ to a folder
// neither reaches (a host secret). A file `symlinks` holds lines
// "PATH -> TARGET" (both relative to the case's root; TARGET may be
// absolute under $T) made into symlinks, and `hardlinks` the same for hard
// links. `agent` names the agent to plan (default main).
type agentCase struct {
	path    string
	archive *txtar.Archive
	root    string
	planner *Planner
	workdir string
	agent   string
}

func loadAgentCase(t *testing.T, path string) *agentCase {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	c := &agentCase{path: path, archive: a, root: root, agent: "main", workdir: filepath.Join(root, "repo")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"home/bottles", "repo", "outside"} {
		must(os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	var links []txtar.File
	for _, f := range a.Files {
		switch {
		case f.Name == "agent":
			c.agent = strings.TrimSpace(string(f.Data))
		case f.Name == "workdir":
			c.workdir = filepath.Join(root, strings.TrimSpace(string(f.Data)))
		case f.Name == "symlinks", f.Name == "hardlinks":
			links = append(links, f)
		case strings.HasPrefix(f.Name, "want"):
		default:
			p := filepath.Join(root, f.Name)
			must(os.MkdirAll(filepath.Dir(p), 0o755))
			mode := os.FileMode(0o644)
			if strings.HasSuffix(f.Name, ".sh") {
				mode = 0o755
			}
			must(os.WriteFile(p, f.Data, mode))
		}
	}
	for _, f := range links {
		for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
			from, to, ok := strings.Cut(line, " -> ")
			if !ok {
				t.Fatalf("%s: bad line %q", f.Name, line)
			}
			at := filepath.Join(root, from)
			must(os.MkdirAll(filepath.Dir(at), 0o755))
			to = strings.ReplaceAll(to, "$T", root)
			if f.Name == "hardlinks" {
				must(os.Link(filepath.Join(root, to), at))
			} else {
				must(os.Symlink(to, at))
			}
		}
	}
	must(os.MkdirAll(c.workdir, 0o755))
	c.planner = &Planner{Home: filepath.Join(root, "home"), Env: map[string]string{"TEST_TOKEN": "SECRET-value"}}
	return c
}

func (c *agentCase) check(t *testing.T, section, got string) {
	t.Helper()
	got = strings.ReplaceAll(got, c.root, "$T")
	for i, f := range c.archive.Files {
		if f.Name != section {
			continue
		}
		if *update {
			c.archive.Files[i].Data = []byte(got)
			c.write(t)
		} else if string(f.Data) != got {
			t.Errorf("%s: %s differs\n--- got\n%s--- want\n%s", c.path, section, got, f.Data)
		}
		return
	}
	if !*update {
		t.Errorf("%s: no %q section (run with -update)", c.path, section)
		return
	}
	c.archive.Files = append(c.archive.Files, txtar.File{Name: section, Data: []byte(got)})
	c.write(t)
}

func (c *agentCase) write(t *testing.T) {
	if err := os.WriteFile(c.path, txtar.Format(c.archive), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAgentGolden plans every case of testdata/agents: a case with a
// want.json section must plan, and its agent, its text rendering and the
// files a launch writes are compared; a case with a want.err section must
// fail with exactly that error.
func TestAgentGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/agents/*.txtar")
	if len(files) < 10 {
		t.Fatalf("only %d agent cases", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c := loadAgentCase(t, path)
			plan, err := c.planner.PlanAgent(c.agent, c.workdir)
			wantErr := strings.Contains(string(txtar.Format(c.archive)), "\n-- want.err --\n")
			if wantErr {
				if err == nil {
					t.Fatal("plan succeeded; want an error")
				}
				if strings.Contains(err.Error(), "HOST-SECRET") || strings.Contains(err.Error(), "SECRET-value") {
					t.Fatalf("the error holds a secret: %v", err)
				}
				c.check(t, "want.err", err.Error()+"\n")
				return
			}
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			js, _ := json.MarshalIndent(plan.Agent, "", "  ")
			c.check(t, "want.json", string(js)+"\n")
			full, _ := json.Marshal(plan)
			validateAgainstSchema(t, "plan", full)
			var text strings.Builder
			formatAgent(&text, plan)
			for _, w := range plan.Warnings {
				fmt.Fprintf(&text, "warning: %s\n", w)
			}
			c.check(t, "want.txt", text.String())
			var files strings.Builder
			for _, f := range AgentFiles(plan, LaunchValues{MCPURL: "http://127.0.0.1:3129/mcp", Workdir: c.workdir}) {
				// Sized with the case's root written $T, as the text is: the
				// temporary folder's length varies from run to run.
				size := len(strings.ReplaceAll(f.Content, c.root, "$T")) + len(f.Data)
				fmt.Fprintf(&files, "%04o %6d %s\n", f.Mode, size, f.Path)
			}
			fmt.Fprintf(&files, "clean: %v\n--- appended to ~/%s:\n%s", AgentCleanDirs(plan), plan.Agent.Prompt.Into, plan.Agent.Instructions)
			if g := plan.GitGate; g != nil {
				fmt.Fprintf(&files, "--- ~/%s:\n%s", GitConfigFile, g.Config)
			}
			c.check(t, "want.files", files.String())
			for _, out := range []string{string(full), text.String(), files.String()} {
				if strings.Contains(out, "HOST-SECRET") || strings.Contains(out, "SECRET-value") {
					t.Fatal("a plan output holds a secret")
				}
			}
		})
	}
}
