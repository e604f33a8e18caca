package launcher_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// protectWorld is a launcher with one backend and a workdir holding a git
// repository the way an operator's looks: tool settings, a submodule-free
// history, a remote to fetch from, core.hooksPath naming a folder that a
// fresh clone does not have yet.
type protectWorld struct {
	t       *testing.T
	backend string
	base    string
	home    string
	workdir string
	markers string // where a planted hook or config would leave its mark on the host
	hostEnv map[string]string
	l       *launcher.Launcher
	cfg     launcher.Config // l's, for a test that needs a second launcher on the same home
}

var (
	attackerOnce sync.Once
	attackerPath string
	attackerErr  error
)

// attacker builds testdata/attacker statically, once per test process.
func attacker(t *testing.T) string {
	t.Helper()
	attackerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bb-attacker-")
		if err != nil {
			attackerErr = err
			return
		}
		attackerPath = filepath.Join(dir, "attacker")
		cmd := exec.Command("go", "build", "-o", attackerPath, "./testdata/attacker")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			attackerErr = fmt.Errorf("build the attacker: %v\n%s", err, out)
		}
	})
	if attackerErr != nil {
		t.Fatal(attackerErr)
	}
	return attackerPath
}

func newProtectWorld(t *testing.T, backend, manifest string) *protectWorld {
	t.Helper()
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	var be launcher.Backend
	switch backend {
	case "local":
		be = netns.New(bin)
	case "docker":
		requireBusybox(t)
		d := docker.New(docker.Options{Exe: bin})
		be = d
		if err := be.Check(context.Background()); err == nil {
			cli, err := d.Client()
			if err != nil {
				t.Fatal(err)
			}
			manifest = "agent_provider: {template: command, image: " + gitImage(t, cli) + "}\n" + manifest
		}
	}
	if err := be.Check(context.Background()); err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	base, err := os.MkdirTemp("", "bbp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	w := &protectWorld{t: t, backend: backend, base: base, home: filepath.Join(base, "bb"), workdir: filepath.Join(base, "work"),
		markers: filepath.Join(base, "markers")}
	for _, d := range []string{filepath.Join(w.home, "bottles"), w.workdir, w.markers, filepath.Join(base, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(w.home, "bottles", "demo.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	w.hostEnv = map[string]string{planner.HomeEnv: w.home, "PATH": os.Getenv("PATH"), "HOME": filepath.Join(base, "home"),
		"GIT_CONFIG_NOSYSTEM": "1"}
	p, err := planner.New(w.hostEnv, w.workdir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(w.home, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(store, events.BusOptions{})
	t.Cleanup(func() {
		bus.Close(context.Background())
		store.Close()
	})
	w.cfg = launcher.Config{Home: w.home, Planner: p, HostEnv: w.hostEnv, Backends: []launcher.Backend{be},
		Registry: store, Publisher: bus, StopGrace: 5 * time.Second}
	w.l, err = launcher.New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.l.Close(context.Background()) })
	return w
}

// git runs the host's git in the workdir as the operator would, with the
// marker folder a planted payload writes to.
func (w *protectWorld) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = w.workdir
	cmd.Env = []string{"HOME=" + w.hostEnv["HOME"], "PATH=" + w.hostEnv["PATH"], "GIT_CONFIG_NOSYSTEM=1",
		"BB_MARKER_DIR=" + w.markers, "GIT_AUTHOR_NAME=op", "GIT_AUTHOR_EMAIL=op@host.test",
		"GIT_COMMITTER_NAME=op", "GIT_COMMITTER_EMAIL=op@host.test"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (w *protectWorld) mustGit(args ...string) string {
	w.t.Helper()
	out, err := w.git(args...)
	if err != nil {
		w.t.Fatalf("host git %v: %v\n%s", args, err, out)
	}
	return out
}

// setupRepo makes the workdir an operator's repository.
func (w *protectWorld) setupRepo() {
	w.t.Helper()
	w.mustGit("init", "-q", "-b", "main")
	for p, body := range map[string]string{"README": "hello\n", ".vscode/tasks.json": "{}\n", ".claude/settings.json": "{}\n",
		"pkg/.vscode/settings.json": "{}\n", ".gitmodules": ""} {
		full := filepath.Join(w.workdir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	w.mustGit("add", "-A")
	w.mustGit("commit", "-qm", "init")
	w.mustGit("init", "-q", "--bare", "remote.git")
	w.mustGit("remote", "add", "origin", filepath.Join(w.workdir, "remote.git"))
	w.mustGit("push", "-q", "origin", "main", "main:refs/heads/other")
	w.mustGit("config", "core.hooksPath", ".githooks")
	ex, err := os.OpenFile(filepath.Join(w.workdir, ".git", "info", "exclude"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	fmt.Fprintln(ex, "/remote.git/\n/.bb-*")
	ex.Close()
	bin, err := os.ReadFile(attacker(w.t))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.workdir, ".bb-attacker"), bin, 0o755); err != nil {
		w.t.Fatal(err)
	}
}

// run launches the bottle on command and waits for it.
func (w *protectWorld) run(command string) (string, *launcher.Bottle) {
	w.t.Helper()
	var out bytes.Buffer
	var mu sync.Mutex
	wr := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	b, err := w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: w.workdir,
		Command: []string{"sh", "-c", command}, Stdio: launcher.Stdio{Out: wr, Err: wr}})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := b.Wait(ctx); err != nil {
		w.t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return out.String(), b
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// snapshot describes what the host holds at each path: absent, or every
// entry below it with its kind, mode and content digest.
func (w *protectWorld) snapshot(paths []string) map[string]string {
	w.t.Helper()
	out := map[string]string{}
	for _, rel := range paths {
		var lines []string
		err := filepath.WalkDir(filepath.Join(w.workdir, rel), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%s %v", strings.TrimPrefix(p, w.workdir), info.Mode())
			if info.Mode().IsRegular() {
				data, _ := os.ReadFile(p)
				line += fmt.Sprintf(" %x", sha256.Sum256(data))
			}
			lines = append(lines, line)
			return nil
		})
		if err != nil {
			lines = []string{"absent"}
		}
		sort.Strings(lines)
		out[rel] = strings.Join(lines, "\n")
	}
	return out
}

// attackedPaths are the workdir's protected paths in this repository:
// existing (settings, hooks, config, a package's .vscode) and missing
// (held by placeholders while the bottle runs).
func attackedPaths() []string {
	paths := []string{".git/hooks", ".git/config", ".git/config.worktree", ".git/modules", ".githooks", "pkg/.vscode"}
	for _, p := range schemas.ProtectedPaths {
		if !strings.HasPrefix(p.Name, ".git/") {
			paths = append(paths, p.Name)
		}
	}
	return paths
}

// agentScript attacks every protected path, then does an agent's normal
// work, then plants what only the teardown sweep can defuse.
func agentScript(workdir string, paths []string) string {
	return `cd ` + workdir + `
./.bb-attacker ` + workdir + ` ` + strings.Join(paths, " ") + `
echo ATTACKS-DONE
G="git -c user.name=agent -c user.email=agent@bottle.test"
echo edited >> README && git add README && $G commit -qm edit && echo WORK-commit
git checkout -qb feature && echo WORK-branch
echo f > feature.txt && git add feature.txt && $G commit -qm feature && echo WORK-commit2
git fetch -q origin && git rev-parse -q --verify refs/remotes/origin/other >/dev/null && echo WORK-fetch
echo stash >> README && git stash -q && git stash pop -q && git checkout -q README && echo WORK-stash
git worktree add -q -b wt .bb-wt && echo WORK-worktree
git init -q nested && (cd nested && $G commit -q --allow-empty -m n && git config core.fsmonitor 'touch "$BB_MARKER_DIR/nested-fsmonitor-ran"; false') && git add nested && echo PLANTED-nested
mkdir .bb-evil && cp -r .git/HEAD .git/objects .git/refs .bb-evil/ && printf '[core]\n\trepositoryformatversion = 0\n\tfsmonitor = touch "$BB_MARKER_DIR/commondir-fsmonitor-ran"; false\n' > .bb-evil/config && echo ` + workdir + `/.bb-evil > .git/commondir && echo PLANTED-commondir
`
}

func TestProtectedWorkdirLocal(t *testing.T)  { testProtectedWorkdir(t, "local", "") }
func TestProtectedWorkdirDocker(t *testing.T) { testProtectedWorkdir(t, "docker", "runtime: runc\n") }

// Under runsc the protected paths are binds inside a bind that gVisor's
// gofer serves: the same attacks must fail the same way.
func TestProtectedWorkdirDockerRunsc(t *testing.T) {
	testProtectedWorkdir(t, "docker", "runtime: runsc\n")
}

// testProtectedWorkdir attacks every protected path from inside a real
// bottle, checks that the agent's normal git work still lands, and then
// runs the operator's usual git commands on the host: nothing the agent
// planted may run.
func testProtectedWorkdir(t *testing.T, backend, runtime string) {
	w := newProtectWorld(t, backend, runtime+"egress:\n  routes:\n    - host: allowed.test\n")
	w.setupRepo()
	paths := attackedPaths()
	before := w.snapshot(paths)
	out, b := w.run(agentScript(w.workdir, paths))
	t.Logf("bottle output:\n%s", out)

	if !strings.Contains(out, "ATTACKS-DONE") {
		t.Fatalf("the attacker did not run")
	}
	attempts := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, ": SUCCEEDED") {
			t.Errorf("attack succeeded: %s", line)
		}
		if strings.Contains(line, ": ") && !strings.HasPrefix(line, "WORK") {
			attempts++
		}
	}
	if attempts < 15*len(paths) {
		t.Errorf("only %d attack attempts reported for %d paths", attempts, len(paths))
	}
	for _, work := range []string{"WORK-commit", "WORK-branch", "WORK-commit2", "WORK-fetch", "WORK-stash", "WORK-worktree", "PLANTED-nested", "PLANTED-commondir"} {
		if !strings.Contains(out, work+"\n") {
			t.Errorf("%s did not happen in the bottle", work)
		}
	}

	// The host: every protected path as it was, placeholders gone.
	after := w.snapshot(paths)
	for _, p := range paths {
		if before[p] != after[p] {
			t.Errorf("%s changed on the host:\nbefore %s\nafter  %s", p, before[p], after[p])
		}
	}
	if files, _ := filepath.Glob(filepath.Join(w.home, "placeholders", "*.json")); len(files) != 0 {
		t.Errorf("placeholder records left: %v", files)
	}
	notices := strings.Join(b.WorkdirNotices(), "\n")
	for _, q := range []string{"nested/.git", ".git/commondir"} {
		if !strings.Contains(notices, filepath.Join(w.workdir, q)) || !strings.Contains(notices, "renamed it") {
			t.Errorf("no quarantine notice for %s:\n%s", q, notices)
		}
	}
	// Whoever did not launch the bottle (ps, an MCP host) reads the same
	// notices from its final lifecycle event.
	infos, err := w.l.List(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(infos, func(in launcher.Info) bool { return in.ID == b.ID() }); i < 0 {
		t.Errorf("the registry does not list bottle %s", b.ID())
	} else if got := strings.Join(infos[i].WorkdirNotices, "\n"); got != notices {
		t.Errorf("the registry's notices for %s:\n%q\nwant the bottle's:\n%q", b.ID(), got, notices)
	}
	if _, err := os.Lstat(filepath.Join(w.workdir, ".bb-wt", ".git")); err != nil || strings.Contains(notices, filepath.Join(w.workdir, ".bb-wt", ".git")+" (") {
		t.Errorf("a plain worktree was treated as planted (%v):\n%s", err, notices)
	}

	// The agent's work is the operator's to use, with the host's git.
	if log := w.mustGit("log", "--format=%s", "feature"); !strings.Contains(log, "feature\nedit\ninit") {
		t.Errorf("the agent's commits are not on feature:\n%s", log)
	}
	w.mustGit("status")
	w.mustGit("checkout", "-q", "main")
	w.mustGit("checkout", "-q", "feature")
	w.mustGit("commit", "-q", "--allow-empty", "-m", "operator")
	w.mustGit("-C", "nested", "status")
	if marks, _ := os.ReadDir(w.markers); len(marks) != 0 {
		t.Errorf("something the agent planted ran on the host: %v", marks)
	}
}

// TestProtectedWorkdirControl runs the same hook attack with .git/hooks
// opted in: the planted hook runs at the operator's next checkout, which
// shows the test above would see an attack that worked.
func TestProtectedWorkdirControl(t *testing.T) {
	w := newProtectWorld(t, "local", "workdir:\n  writable: [.git/hooks]\n")
	w.setupRepo()
	w.mustGit("config", "--unset", "core.hooksPath")
	out, _ := w.run(`cd ` + w.workdir + ` && printf '#!/bin/sh\ntouch "$BB_MARKER_DIR/planted-hook-ran"\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout && echo planted`)
	if !strings.Contains(out, "planted") {
		t.Fatalf("could not plant the hook with .git/hooks opted in:\n%s", out)
	}
	w.mustGit("checkout", "-q", "-b", "x")
	if _, err := os.Stat(filepath.Join(w.markers, "planted-hook-ran")); err != nil {
		t.Fatalf("the control hook did not run: %v", err)
	}
}
