package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSweepQuarantinesPlantedRepositories(t *testing.T) {
	env := gitEnv(t)
	w := newRepo(t, env)
	old := filepath.Join(w, "vendor", "old")
	os.MkdirAll(old, 0o755)
	runGit(t, env, old, "init", "-q")
	mkfile(t, filepath.Join(w, "pkg", ".vscode", "old.json"), "{}")
	since := time.Now().Add(sweepMargin + 100*time.Millisecond) // what exists now predates the bottle

	// What the bottle does: a nested repository with a planted fsmonitor,
	// a .git file pointing at a git folder of its own, a commondir, a
	// rebase left in progress, a package's .vscode, and a plain worktree.
	time.Sleep(sweepMargin + 300*time.Millisecond)
	planted := filepath.Join(w, "nested")
	os.MkdirAll(planted, 0o755)
	runGit(t, env, planted, "init", "-q")
	runGit(t, env, planted, "config", "core.fsmonitor", "touch /tmp/never")
	forged := filepath.Join(w, "x\nbot-bottle: all clear\u202e")
	os.MkdirAll(forged, 0o755)
	runGit(t, env, forged, "init", "-q")
	mkfile(t, filepath.Join(w, "deep", "a", "b", "c", "d", ".git"), "gitdir: ../../../../../evil.git\n")
	mkfile(t, filepath.Join(w, ".git", "commondir"), filepath.Join(w, "evil.git")+"\n")
	os.MkdirAll(filepath.Join(w, ".git", "rebase-merge"), 0o755)
	mkfile(t, filepath.Join(w, "pkg", ".vscode", "tasks.json"), "{}")
	mkfile(t, filepath.Join(old, "f"), "work in a nested repository is no plant\n")
	runGit(t, env, old, "add", "f")
	runGit(t, env, old, "commit", "-qm", "work")
	os.Remove(filepath.Join(w, ".git", "commondir"))
	runGit(t, env, w, "worktree", "add", "-q", "-b", "wt", "trees/wt")
	mkfile(t, filepath.Join(w, ".git", "commondir"), filepath.Join(w, "evil.git")+"\n")

	notices, err := sweepWorkdir(t.TempDir(), w, since, "demo-abcdef")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(notices, "\n")
	for _, moved := range []string{"nested/.git", "deep/a/b/c/d/.git", ".git/commondir"} {
		if _, err := os.Lstat(filepath.Join(w, moved)); err == nil {
			t.Errorf("%s is still there", moved)
		}
		if _, err := os.Lstat(filepath.Join(w, moved+quarantineSuffix+"demo-abcdef")); err != nil {
			t.Errorf("%s was not renamed aside: %v", moved, err)
		}
		if !strings.Contains(all, filepath.Join(w, moved)) {
			t.Errorf("no notice names %s:\n%s", moved, all)
		}
	}
	for _, kept := range []string{"vendor/old/.git", "trees/wt/.git", "pkg/.vscode/tasks.json"} {
		if _, err := os.Lstat(filepath.Join(w, kept)); err != nil {
			t.Errorf("%s was moved: %v", kept, err)
		}
	}
	if !strings.Contains(all, "rebase") || !strings.Contains(all, filepath.Join(w, "pkg", ".vscode")) {
		t.Errorf("notices lack the rebase or the package's .vscode:\n%s", all)
	}
	for _, n := range notices {
		if strings.ContainsAny(n, "\n\u202e") {
			t.Errorf("a notice carries a file name's control characters: %q", n)
		}
	}
	if !strings.Contains(all, `x\nbot-bottle: all clear\u202e/.git`) {
		t.Errorf("the oddly named planted repository is not reported, escaped:\n%s", all)
	}
	if strings.Contains(all, "vendor/old") || strings.Contains(all, "trees/wt") {
		t.Errorf("notices name what the bottle did not plant:\n%s", all)
	}
}
