package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestAgentHomePath: one kept home per bottle and workdir, inside the
// bot-bottle home.
func TestAgentHomePath(t *testing.T) {
	a := AgentHomePath("/bb", "claude", "/work/one")
	if a != AgentHomePath("/bb", "claude", "/work/one") {
		t.Fatal("not stable")
	}
	for _, other := range []string{AgentHomePath("/bb", "claude", "/work/two"), AgentHomePath("/bb", "codex", "/work/one")} {
		if other == a {
			t.Errorf("%s is shared", a)
		}
	}
	if !strings.HasPrefix(a, "/bb/"+AgentHomesDir+"/claude-") {
		t.Errorf("%s is not under the bot-bottle home", a)
	}
}

// TestPrepareAgentHome: kept as it was, emptied by fresh, and never a
// symlink an agent left in its place.
func TestPrepareAgentHome(t *testing.T) {
	p := filepath.Join(t.TempDir(), AgentHomesDir, "b-1")
	if err := prepareAgentHome(p, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%v %v, want a 0700 folder", fi, err)
	}
	session := filepath.Join(p, ".claude", "projects", "s.jsonl")
	if err := os.MkdirAll(filepath.Dir(session), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(session, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := prepareAgentHome(p, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(session); err != nil {
		t.Errorf("the session was not kept: %v", err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(p, "link")); err != nil {
		t.Fatal(err)
	}
	if err := prepareAgentHome(p, true); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(p); len(entries) != 0 {
		t.Errorf("fresh left %v", entries)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("fresh followed a symlink out of the home: %v", err)
	}
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), p); err != nil {
		t.Fatal(err)
	}
	if err := prepareAgentHome(p, false); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a symlink in the home's place: %v", err)
	}
}

// TestKeptHomeNameKeepsAgentsApart: a repository may ship an agent of the
// same name as one of the operator's, for the same bottle. The
// repository's agent runs first (the operator has no such agent yet) and
// writes its kept home: Claude Code's settings and hooks, shell files,
// memories. When the operator then adds their own agent of that name, it
// must not inherit what the repository's wrote: every origin keeps its
// own home, and none is the bare bottle's.
func TestKeptHomeNameKeepsAgentsApart(t *testing.T) {
	plan := func(agent, origin string) *schemas.Plan {
		p := &schemas.Plan{Bottle: "claude-web"}
		if agent != "" {
			p.Agent = &schemas.AgentPlan{Name: agent, Origin: origin}
		}
		return p
	}
	seen := map[string]string{}
	for what, p := range map[string]*schemas.Plan{
		"the bare bottle":                    plan("", ""),
		"the operator's agent reviewer":      plan("reviewer", schemas.FromHome),
		"the repository's agent reviewer":    plan("reviewer", schemas.FromRepository),
		"the operator's agent repo-reviewer": plan("repo-reviewer", schemas.FromHome),
		"the repository's agent repo":        plan("repo", schemas.FromRepository),
		"the operator's agent repo":          plan("repo", schemas.FromHome),
	} {
		name := keptHomeName(p)
		if other, ok := seen[name]; ok {
			t.Errorf("%s and %s share the kept home %s", what, other, name)
		}
		seen[name] = what
		if why := schemas.CheckBottleName(strings.NewReplacer("+", "-").Replace(name)); why != "" || strings.ContainsAny(name, "/.") {
			t.Errorf("kept home name %q is not one plain folder name", name)
		}
	}
}
