package launcher

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
)

// gitEnv is a host environment whose git reads no system config and a
// global config of the test's own.
func gitEnv(t *testing.T) map[string]string {
	t.Helper()
	home := t.TempDir()
	return map[string]string{"HOME": home, "PATH": os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM": "1"}
}

// git runs the host's git in dir with env, failing the test on error.
func runGit(t *testing.T, env map[string]string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "GIT_AUTHOR_NAME=op", "GIT_AUTHOR_EMAIL=op@host.test", "GIT_COMMITTER_NAME=op", "GIT_COMMITTER_EMAIL=op@host.test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, out)
	}
	return string(out)
}

func mkfile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newRepo makes a workdir holding a git repository with one commit.
func newRepo(t *testing.T, env map[string]string) string {
	t.Helper()
	w, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	runGit(t, env, w, "init", "-q", "-b", "main")
	mkfile(t, filepath.Join(w, "README"), "hello\n")
	runGit(t, env, w, "add", "README")
	runGit(t, env, w, "commit", "-qm", "init")
	return w
}

// planOf plans w's protection and returns the read-only paths, the
// anchors and the placeholders.
func planOf(t *testing.T, env map[string]string, w string, writable ...string) (ro, anchors, missing []string) {
	t.Helper()
	p, err := planProtection(context.Background(), w, writable, env)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for _, pp := range p.spec().Paths {
		if pp.ReadOnly {
			ro = append(ro, pp.Path)
		} else {
			anchors = append(anchors, pp.Path)
		}
	}
	return ro, anchors, p.placeholders()
}

func refusal(t *testing.T, env map[string]string, w string, writable ...string) string {
	t.Helper()
	p, err := planProtection(context.Background(), w, writable, env)
	if err == nil {
		p.close()
		t.Fatal("planProtection accepted a workdir it cannot protect")
	}
	return err.Error()
}

func TestPlanProtectionPlainRepo(t *testing.T) {
	env := gitEnv(t)
	w := newRepo(t, env)
	mkfile(t, filepath.Join(w, ".vscode", "tasks.json"), "{}")
	mkfile(t, filepath.Join(w, "pkg", "sub", ".claude", "settings.json"), "{}")
	mkfile(t, filepath.Join(w, "a", "b", "c", "d", ".vscode", "x"), "{}") // deeper than the scan
	mkfile(t, filepath.Join(w, "node_modules", "x", ".vscode", "x"), "{}")
	ro, anchors, missing := planOf(t, env, w)
	for _, want := range []string{".vscode", ".envrc", ".mcp.json", ".claude", ".idea", ".codex", ".gitmodules",
		".git/hooks", ".git/config", ".git/config.worktree", ".git/modules", "pkg/sub/.claude", ".bashrc", ".ripgreprc"} {
		if !slices.Contains(ro, want) {
			t.Errorf("%s is not read-only; read-only: %v", want, ro)
		}
	}
	for _, not := range []string{"a/b/c/d/.vscode", "node_modules/x/.vscode", "README", ".git"} {
		if slices.Contains(ro, not) {
			t.Errorf("%s is read-only", not)
		}
	}
	if !slices.Equal(anchors, []string{".git", "pkg", "pkg/sub"}) {
		t.Errorf("anchors %v, want .git, pkg, pkg/sub", anchors)
	}
	if slices.Contains(missing, ".vscode") || !slices.Contains(missing, ".envrc") || !slices.Contains(missing, ".git/modules") {
		t.Errorf("placeholders %v", missing)
	}
}

func TestPlanProtectionOptIn(t *testing.T) {
	env := gitEnv(t)
	w := newRepo(t, env)
	ro, _, _ := planOf(t, env, w, ".vscode", ".git/hooks", ".git/config", ".git/modules")
	for _, p := range ro {
		if p == ".vscode" || strings.HasPrefix(p, ".git/") {
			t.Errorf("%s is read-only though opted in", p)
		}
	}
}

func TestPlanProtectionNoRepo(t *testing.T) {
	env := gitEnv(t)
	w, _ := filepath.EvalSymlinks(t.TempDir())
	_, _, missing := planOf(t, env, w)
	if !slices.Contains(missing, ".git") {
		t.Errorf("a workdir without .git does not hold one: %v", missing)
	}
	_, _, missing = planOf(t, env, w, ".git/hooks", ".git/config")
	if slices.Contains(missing, ".git") {
		t.Errorf("opting git in still holds .git: %v", missing)
	}
	// A second bottle finds the first one's placeholder: an empty .git,
	// which is no repository and is held whole.
	os.Mkdir(filepath.Join(w, ".git"), 0o755)
	ro, _, missing := planOf(t, env, w)
	if !slices.Contains(ro, ".git") || slices.Contains(missing, ".git") {
		t.Errorf("an empty .git is not held as it is: ro %v, placeholders %v", ro, missing)
	}
}

func TestPlanProtectionGitLayout(t *testing.T) {
	env := gitEnv(t)
	w := newRepo(t, env)
	// A submodule's git folder, a linked worktree inside the workdir, and
	// hooks in a tracked folder named by core.hooksPath.
	sub := newRepo(t, env)
	runGit(t, env, w, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "libs/sub")
	runGit(t, env, w, "commit", "-qm", "sub")
	runGit(t, env, w, "worktree", "add", "-q", "-b", "wt", "trees/wt")
	runGit(t, env, w, "config", "core.hooksPath", ".husky/_")
	ro, anchors, missing := planOf(t, env, w)
	for _, want := range []string{".git/modules/libs/sub/hooks", ".git/modules/libs/sub/config", "libs/sub/.git",
		".git/worktrees/wt/config.worktree", ".git/worktrees/wt/commondir", "trees/wt/.git", ".husky", ".gitmodules"} {
		if !slices.Contains(ro, want) {
			t.Errorf("%s is not read-only; read-only: %v", want, ro)
		}
	}
	for _, want := range []string{".git/modules", ".git/modules/libs", ".git/modules/libs/sub", "libs", "libs/sub", "trees", "trees/wt"} {
		if !slices.Contains(anchors, want) {
			t.Errorf("%s is not an anchor; anchors: %v", want, anchors)
		}
	}
	if !slices.Contains(missing, ".husky") || slices.Contains(ro, ".husky/_") {
		t.Errorf("the missing hooks folder is not held: %v", missing)
	}
}

func TestPlanProtectionGlobalHooksPathAndIncludes(t *testing.T) {
	env := gitEnv(t)
	w := newRepo(t, env)
	mkfile(t, filepath.Join(env["HOME"], ".gitconfig"), "[core]\n\thooksPath = .githooks\n")
	mkfile(t, filepath.Join(w, "team.gitconfig"), "[alias]\n\tx = status\n")
	runGit(t, env, w, "config", "include.path", "../team.gitconfig")
	runGit(t, env, w, "config", "includeIf.gitdir:/nowhere/.path", "../.git/extra-config")
	ro, _, missing := planOf(t, env, w)
	for _, want := range []string{".githooks", "team.gitconfig", ".git/extra-config"} {
		if !slices.Contains(ro, want) {
			t.Errorf("%s is not read-only; read-only: %v", want, ro)
		}
	}
	if !slices.Contains(missing, ".git/extra-config") || slices.Contains(missing, "team.gitconfig") {
		t.Errorf("placeholders %v", missing)
	}
	runGit(t, env, w, "config", "--add", "include.path", "../not-there.gitconfig")
	if msg := refusal(t, env, w); !strings.Contains(msg, "not-there.gitconfig") || !strings.Contains(msg, "create it on the host first") {
		t.Errorf("refusal %q", msg)
	}
}

func TestPlanProtectionRefusals(t *testing.T) {
	env := gitEnv(t)
	cases := map[string]func(w string){
		"symlinked .vscode": func(w string) {
			os.MkdirAll(filepath.Join(w, "shared"), 0o755)
			os.Symlink("shared", filepath.Join(w, ".vscode"))
		},
		"symlinked .envrc outside": func(w string) { os.Symlink("/etc/hostname", filepath.Join(w, ".envrc")) },
		"hard-linked config":       func(w string) { os.Link(filepath.Join(w, ".git", "config"), filepath.Join(w, "cfg")) },
		"hard link inside .claude": func(w string) {
			mkfile(t, filepath.Join(w, "x"), "{}")
			os.MkdirAll(filepath.Join(w, ".claude"), 0o755)
			os.Link(filepath.Join(w, "x"), filepath.Join(w, ".claude", "settings.json"))
		},
		"dangling hook link into the workdir": func(w string) {
			os.Symlink("../../scripts/pre-commit", filepath.Join(w, ".git", "hooks", "pre-commit"))
		},
		"nested symlinked .claude": func(w string) {
			os.MkdirAll(filepath.Join(w, "pkg"), 0o755)
			os.Symlink("/tmp", filepath.Join(w, "pkg", ".claude"))
		},
		"symlinked .git": func(w string) {
			os.Rename(filepath.Join(w, ".git"), filepath.Join(w, "realgit"))
			os.Symlink("realgit", filepath.Join(w, ".git"))
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			w := newRepo(t, env)
			setup(w)
			if msg := refusal(t, env, w); !strings.Contains(msg, "cannot protect") || !strings.Contains(msg, "workdir.writable") {
				t.Errorf("refusal %q", msg)
			}
		})
	}
}

func TestPlanProtectionHookLinkTarget(t *testing.T) {
	env := gitEnv(t)
	w := newRepo(t, env)
	mkfile(t, filepath.Join(w, "scripts", "pre-commit"), "#!/bin/sh\n")
	if err := os.Symlink("../../scripts/pre-commit", filepath.Join(w, ".git", "hooks", "pre-commit")); err != nil {
		t.Fatal(err)
	}
	ro, anchors, _ := planOf(t, env, w)
	if !slices.Contains(ro, "scripts/pre-commit") || !slices.Contains(anchors, "scripts") {
		t.Errorf("the hook's target is not held: ro %v anchors %v", ro, anchors)
	}
}

func TestProtectSpecOrder(t *testing.T) {
	p := &protectionPlan{root: "/w", ro: map[string]bool{".git/hooks": true, ".claude": true, ".claude/x": true, "a/b/.vscode": true}}
	got := p.spec()
	want := []bottleinit.ProtectedPath{{Path: ".claude", ReadOnly: true}, {Path: ".git"}, {Path: "a"},
		{Path: ".git/hooks", ReadOnly: true}, {Path: "a/b"}, {Path: "a/b/.vscode", ReadOnly: true}}
	if !slices.Equal(got.Paths, want) {
		t.Errorf("spec %v\nwant %v", got.Paths, want)
	}
}

// BenchmarkPlanProtection plans the protection of a checkout of this
// repository: the part of a launch the protection adds before the bottle
// starts (placeholders aside).
//
//	go test -run '^$' -bench PlanProtection ./launcher
func BenchmarkPlanProtection(b *testing.B) {
	env := map[string]string{"HOME": b.TempDir(), "PATH": os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM": "1"}
	w, _ := filepath.EvalSymlinks(b.TempDir())
	src, _ := filepath.Abs("..")
	for _, args := range [][]string{{"init", "-q"}, {"fetch", "-q", "--depth", "5", src, "HEAD"}, {"checkout", "-q", "FETCH_HEAD"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = w
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := planProtection(context.Background(), w, nil, env)
		if err != nil {
			b.Fatal(err)
		}
		p.close()
	}
}
