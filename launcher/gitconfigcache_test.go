package launcher

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// gitHarness is a host whose git is a wrapper around the real one that
// counts its runs (testdata/gitwrapper), with a home, a system config of
// its own and a workdir that is no repository.
type gitHarness struct {
	env     map[string]string
	workdir string
	git     string // the wrapper, first in PATH
}

func newGitHarness(t *testing.T) *gitHarness {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &gitHarness{workdir: filepath.Join(base, "work"), git: filepath.Join(base, "bin", "git")}
	os.MkdirAll(h.workdir, 0o755)
	os.MkdirAll(filepath.Join(base, "home"), 0o755)
	h.writeGit(t, "")
	h.env = map[string]string{"HOME": filepath.Join(base, "home"), "PATH": filepath.Dir(h.git) + ":" + os.Getenv("PATH"),
		"GIT_CONFIG_SYSTEM": filepath.Join(base, "etc", "gitconfig")}
	return h
}

// writeGit (re)places the wrapper, by a rename as a package upgrade does,
// with one that reads global as its global config ("" for the usual).
func (h *gitHarness) writeGit(t *testing.T, global string) {
	t.Helper()
	InstallGitWrapperForTest(t, h.git, global)
}

var (
	gitWrappersMu sync.Mutex
	gitWrappers   = map[string]string{} // build-time global -> binary
)

// RemoveGitWrappersForTest removes the wrappers built by this test
// process; TestMain calls it after the tests.
func RemoveGitWrappersForTest() {
	gitWrappersMu.Lock()
	defer gitWrappersMu.Unlock()
	for _, bin := range gitWrappers {
		_ = os.RemoveAll(filepath.Dir(bin))
	}
	clear(gitWrappers)
}

// InstallGitWrapperForTest builds testdata/gitwrapper (once per global,
// per test process) and renames a copy of it to dst; its runs are counted
// in dst+".runs" (gitWrapperRuns).
func InstallGitWrapperForTest(t testing.TB, dst, global string) {
	t.Helper()
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git on this host")
	}
	gitWrappersMu.Lock()
	bin, ok := gitWrappers[global]
	if !ok {
		dir, err := os.MkdirTemp("", "bb-gitwrapper-")
		if err != nil {
			gitWrappersMu.Unlock()
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "git")
		cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.realGit="+realGit+" -X main.global="+global, "./testdata/gitwrapper")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			gitWrappersMu.Unlock()
			t.Fatalf("build the git wrapper: %v\n%s", err, out)
		}
		gitWrappers[global] = bin
	}
	gitWrappersMu.Unlock()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst+".new", data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst+".new", dst); err != nil {
		t.Fatal(err)
	}
}

// GitWrapperRunsForTest is how many times the wrapper at path has run.
func GitWrapperRunsForTest(t testing.TB, path string) int {
	t.Helper()
	data, err := os.ReadFile(path + ".runs")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// runs is how many times the host's git has run.
func (h *gitHarness) runs(t *testing.T) int { return GitWrapperRunsForTest(t, h.git) }

// hooksPath reads the settings as a launch does and returns core.hooksPath.
func (h *gitHarness) hooksPath(t *testing.T) string {
	t.Helper()
	settings, err := readGitConfigPaths(context.Background(), h.env, h.workdir, "")
	if err != nil {
		t.Fatal(err)
	}
	v := ""
	for _, s := range settings {
		if s.key == "core.hookspath" {
			v = s.value
		}
	}
	return v
}

// settle waits until every file written so far is older than racyWindow,
// so that its answer may be cached.
func settle() { time.Sleep(racyWindow + 200*time.Millisecond) }

// TestGitConfigCacheInvalidation: a second read with nothing changed runs
// no git; then each change of what git reads is seen by the next read.
func TestGitConfigCacheInvalidation(t *testing.T) {
	t.Parallel() // each waits out racyWindow
	cases := map[string]struct {
		setup  func(t *testing.T, h *gitHarness)
		change func(t *testing.T, h *gitHarness)
		want   string
	}{
		"global config gains core.hooksPath": {
			setup: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], ".gitconfig"), "[user]\n\tname = op\n")
			},
			change: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], ".gitconfig"), "[user]\n\tname = op\n[core]\n\thooksPath = .githooks\n")
			},
			want: ".githooks",
		},
		"system config (GIT_CONFIG_SYSTEM) changes": {
			setup: func(t *testing.T, h *gitHarness) {
				mkfile(t, h.env["GIT_CONFIG_SYSTEM"], "[core]\n\thooksPath = sys-1\n")
			},
			change: func(t *testing.T, h *gitHarness) {
				mkfile(t, h.env["GIT_CONFIG_SYSTEM"], "[core]\n\thooksPath = sys-22\n")
			},
			want: "sys-22",
		},
		"an absent system config appears": {
			setup: func(t *testing.T, h *gitHarness) {},
			change: func(t *testing.T, h *gitHarness) {
				mkfile(t, h.env["GIT_CONFIG_SYSTEM"], "[core]\n\thooksPath = sys\n")
			},
			want: "sys",
		},
		"an included file with no setting gains core.hooksPath": {
			setup: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], ".gitconfig"), "[include]\n\tpath = team.inc\n")
				mkfile(t, filepath.Join(h.env["HOME"], "team.inc"), "")
			},
			change: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], "team.inc"), "[core]\n\thooksPath = team\n")
			},
			want: "team",
		},
		"a missing file an included file includes appears": {
			setup: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], ".gitconfig"), "[include]\n\tpath = ~/team.inc\n")
				mkfile(t, filepath.Join(h.env["HOME"], "team.inc"), "[includeIf \"hasconfig:remote.*.url:**\"]\n\tpath = sub/../deeper.inc\n[include]\n\tpath = deep.inc\n")
			},
			change: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], "deep.inc"), "[core]\n\thooksPath = deep\n")
			},
			want: "deep",
		},
		"an absent ~/.config/git/config appears": {
			setup: func(t *testing.T, h *gitHarness) {},
			change: func(t *testing.T, h *gitHarness) {
				mkfile(t, filepath.Join(h.env["HOME"], ".config", "git", "config"), "[core]\n\thooksPath = xdg\n")
			},
			want: "xdg",
		},
		"HOME changes": {
			setup: func(t *testing.T, h *gitHarness) {},
			change: func(t *testing.T, h *gitHarness) {
				home := t.TempDir()
				mkfile(t, filepath.Join(home, ".gitconfig"), "[core]\n\thooksPath = other-home\n")
				h.env = withEnv(h.env, "HOME", home)
			},
			want: "other-home",
		},
		"the git binary is replaced": {
			setup: func(t *testing.T, h *gitHarness) {},
			change: func(t *testing.T, h *gitHarness) {
				// The new git reads another global config: only running
				// it can tell.
				cfg := filepath.Join(t.TempDir(), "cfg")
				mkfile(t, cfg, "[core]\n\thooksPath = new-git\n")
				h.writeGit(t, cfg)
			},
			want: "new-git",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newGitHarness(t)
			c.setup(t, h)
			settle()
			first := h.hooksPath(t)
			n := h.runs(t)
			if got := h.hooksPath(t); got != first || h.runs(t) != n {
				t.Fatalf("the second read ran git (%d runs after %d) or changed its answer (%q, then %q)", h.runs(t), n, first, got)
			}
			c.change(t, h)
			if got := h.hooksPath(t); got != c.want {
				t.Errorf("after the change core.hooksPath is %q, want %q (a stale answer)", got, c.want)
			}
		})
	}
}

// withEnv returns a copy of m with k set to v.
func withEnv(m map[string]string, k, v string) map[string]string {
	c := map[string]string{k: v}
	for mk, mv := range m {
		if mk != k {
			c[mk] = mv
		}
	}
	return c
}

// TestGitConfigCacheRacyFile: an answer read while a file was fresh is not
// kept, so a rewrite with the same size in the same timestamp tick (whose
// stat would be the same) is still seen. A stat-identical rewrite cannot
// be made from user space (the ctime moves), so the test shows the rule
// by its effect: every read of a fresh file runs git, and a same-size
// rewrite with its mtime put back is seen.
func TestGitConfigCacheRacyFile(t *testing.T) {
	h := newGitHarness(t)
	cfg := filepath.Join(h.env["HOME"], ".gitconfig")
	mkfile(t, cfg, "[core]\n\thooksPath = aaaa\n")
	fi, err := os.Stat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.hooksPath(t); got != "aaaa" {
		t.Fatalf("core.hooksPath %q", got)
	}
	n := h.runs(t)
	if got := h.hooksPath(t); got != "aaaa" || h.runs(t) != n+1 {
		t.Errorf("a fresh file's answer was kept: %d runs of git for the second read", h.runs(t)-n)
	}
	n = h.runs(t)
	mkfile(t, cfg, "[core]\n\thooksPath = bbbb\n")
	if err := os.Chtimes(cfg, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := h.hooksPath(t); got != "bbbb" || h.runs(t) != n+1 {
		t.Errorf("a same-size rewrite of a fresh file: core.hooksPath %q after %d runs of git (want bbbb, %d)", got, h.runs(t), n+1)
	}
	if st, err := stampFile(cfg); err != nil || st.settledBefore(time.Now()) {
		t.Errorf("a file written just now counts as settled (%v)", err)
	}
}

// TestGitConfigCacheNotForRepositories: a workdir git finds a repository
// in runs git every time.
func TestGitConfigCacheNotForRepositories(t *testing.T) {
	t.Parallel() // each waits out racyWindow
	h := newGitHarness(t)
	mkfile(t, filepath.Join(h.workdir, "HEAD"), "ref: refs/heads/main\n") // a bare repository's mark
	settle()
	n := h.runs(t)
	h.hooksPath(t)
	h.hooksPath(t)
	if h.runs(t) != n+2 {
		t.Errorf("%d runs of git for two reads in a workdir holding HEAD", h.runs(t)-n)
	}
}

// TestGitConfigCacheNotForScripts: a git that is a script (a version
// manager's shim, whose choice of git can depend on the workdir) runs
// every time.
func TestGitConfigCacheNotForScripts(t *testing.T) {
	t.Parallel() // each waits out racyWindow
	h := newGitHarness(t)
	realGit, _ := exec.LookPath("git")
	script := filepath.Join(filepath.Dir(h.git), "shim", "git")
	mkfile(t, script, "#!/bin/sh\necho run >> '"+h.git+".runs'\nexec '"+realGit+"' \"$@\"\n")
	os.Chmod(script, 0o755)
	h.env = withEnv(h.env, "PATH", filepath.Dir(script)+":"+h.env["PATH"])
	settle()
	h.hooksPath(t)
	n := h.runs(t)
	h.hooksPath(t)
	if h.runs(t) != n+1 {
		t.Errorf("a script git's answer was reused (%d runs for the second read)", h.runs(t)-n)
	}
}

func TestGitFindsNoRepo(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	dir := func(name string, files ...string) string {
		d := filepath.Join(base, name)
		os.MkdirAll(d, 0o755)
		for _, f := range files {
			if strings.HasSuffix(f, "/") {
				os.MkdirAll(filepath.Join(d, f), 0o755)
			} else {
				mkfile(t, filepath.Join(d, f), "x")
			}
		}
		return d
	}
	os.Symlink(dir("target"), filepath.Join(base, "link"))
	cases := map[string]bool{
		dir("plain", "README"):                true,
		dir("placeholder", ".git/"):           true,
		dir("repo", ".git/HEAD"):              false,
		dir("gitfile", ".git"):                false,
		dir("bare", "HEAD"):                   false,
		filepath.Join(base, "link"):           false, // the ceiling would not hold
		"relative":                            false,
		filepath.Join(base, "no-such"):        false,
		filepath.Join(base, "plain/../plain"): true,
	}
	for w, want := range cases {
		if got := gitFindsNoRepo(w); got != want {
			t.Errorf("gitFindsNoRepo(%s) = %v, want %v", w, got, want)
		}
	}
}

// TestIsGitPathKeyMatchesGit: filtering `git config --list` keeps exactly
// what git's own --get-regexp with the launch's former regexp printed.
func TestIsGitPathKeyMatchesGit(t *testing.T) {
	env := gitEnv(t)
	cfg := filepath.Join(env["HOME"], "keys.cfg")
	mkfile(t, cfg, `[core]
	hooksPath = a
	HOOKSPATH = b
	hookspathx = c
	xhookspath = c2
[Core]
	hooksPath = d
[core "sub"]
	hooksPath = e
[include]
	path = /nonexistent/f
	paths = g
[Include]
	PATH = /nonexistent/h
[include "x"]
	path = i
[includeIf "gitdir:/Nowhere/"]
	path = /nonexistent/j
[includeIf ""]
	path = k
[includeif "a.path"]
	x = l
[includeIf "onbranch:X.path"]
	Path = /nonexistent/m
[xinclude]
	path = n
[includeIf]
	path = o
[includeIf "hasconfig:remote.*.url:x"]
	path = /nonexistent/p
`)
	env["GIT_CONFIG_GLOBAL"] = cfg
	w, _ := filepath.EvalSymlinks(t.TempDir())
	git := func(args ...string) []gitConfigEntry {
		cmd := exec.Command("git", append([]string{"config", "--null", "--show-origin"}, args...)...)
		cmd.Dir = w
		cmd.Env = []string{"GIT_CEILING_DIRECTORIES=" + filepath.Dir(w)}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git config %v: %v", args, err)
		}
		return parseGitConfigList(out)
	}
	want := git("--get-regexp", gitPathKeys)
	var got []gitConfigEntry
	for _, e := range git("--list") {
		if isGitPathKey(e.key) {
			got = append(got, e)
		}
	}
	if !slices.Equal(got, want) || len(want) != 8 {
		t.Errorf("filtered --list:\n%+v\n--get-regexp (%d):\n%+v", got, len(want), want)
	}
	for key, want := range map[string]bool{"core.hookspath": true, "include.path": true, "includeif.x.path": true,
		"includeif..path": false, "includeif.path": false, "core.x.hookspath": false, "include.x.path": false, "includeif.x.paths": false} {
		if isGitPathKey(key) != want {
			t.Errorf("isGitPathKey(%q) = %v", key, !want)
		}
	}
}

// TestGitSystemConfigPath: the system config path learnt from git is the
// one it reads.
func TestGitSystemConfigPath(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	bin, err := stampFile(git)
	if err != nil {
		t.Fatal(err)
	}
	var c gitConfigCache
	p, ok := c.systemConfig(context.Background(), git, bin, map[string]string{})
	if !ok || !filepath.IsAbs(p) {
		t.Fatalf("system config %q, %v", p, ok)
	}
	// Where the file holds a setting, git names it as its origin.
	out, _ := exec.Command(git, "config", "--system", "--show-origin", "--list").Output()
	if o, _, _ := strings.Cut(string(out), "\t"); len(out) > 0 && o != "file:"+p {
		t.Errorf("learnt %s, git reads %s", p, o)
	}
	if q, ok := c.systemConfig(context.Background(), git, bin, map[string]string{"GIT_CONFIG_SYSTEM": "/x"}); !ok || q != "/x" {
		t.Errorf("GIT_CONFIG_SYSTEM=/x gives %q", q)
	}
}

// TestPlanProtectionGlobalHooksPathCached: a relative hooksPath added to
// the global config between two launches in a workdir with no repository
// (the cached case) gets the second launch's hooks folder protected.
func TestPlanProtectionGlobalHooksPathCached(t *testing.T) {
	t.Parallel() // each waits out racyWindow
	h := newGitHarness(t)
	mkfile(t, filepath.Join(h.env["HOME"], ".gitconfig"), "[user]\n\tname = op\n")
	settle()
	for range 2 {
		if ro, _, _ := planOf(t, h.env, h.workdir); slices.Contains(ro, ".githooks") {
			t.Fatalf(".githooks read-only before any hooksPath: %v", ro)
		}
	}
	n := h.runs(t)
	if n != 1 {
		t.Fatalf("%d runs of git for two launches with nothing changed", n)
	}
	mkfile(t, filepath.Join(h.env["HOME"], ".gitconfig"), "[user]\n\tname = op\n[core]\n\thooksPath = .githooks\n")
	ro, _, missing := planOf(t, h.env, h.workdir)
	if !slices.Contains(ro, ".githooks") || !slices.Contains(missing, ".githooks") {
		t.Errorf("the hooks folder of the new hooksPath is not held: ro %v, placeholders %v", ro, missing)
	}
}
