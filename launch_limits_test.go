package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/limitscript"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// writeBottle adds a bottle that extends demo.
func (e *e2e) writeBottle(name, yaml string) {
	e.t.Helper()
	must(e.t, os.WriteFile(filepath.Join(e.home, "bottles", name+".yaml"), []byte("extends: demo\n"+yaml), 0o644))
}

// launchCmd is `bot-bottle launch NAME -- command` on the fixture's backend.
func (e *e2e) launchCmd(name string, command ...string) *exec.Cmd {
	args := e.launchArgs(command...)
	for i, a := range args {
		if a == "demo" {
			args[i] = name
		}
	}
	return e.command(args...)
}

// events returns the home's events.
func (e *e2e) events() []schemas.Event {
	e.t.Helper()
	out, err := e.cli("events", "--json")
	if err != nil {
		e.t.Fatalf("events: %v\n%s", err, out)
	}
	var evs []schemas.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev schemas.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Kind != "" {
			evs = append(evs, ev)
		}
	}
	return evs
}

// limitEvents returns the bottle.limit events and the last lifecycle.
func (e *e2e) limitEvents() (limits []schemas.LimitReached, last schemas.Lifecycle, id string) {
	for _, ev := range e.events() {
		switch ev.Kind {
		case schemas.KindLimit:
			var l schemas.LimitReached
			must(e.t, ev.Decode(&l))
			limits = append(limits, l)
		case schemas.KindLifecycle:
			must(e.t, ev.Decode(&last))
			id = ev.Bottle
		}
	}
	return limits, last, id
}

// mkfifos makes FIFOs in the workdir that any user can open.
func mkfifos(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		must(t, syscall.Mkfifo(p, 0o666))
		must(t, os.Chmod(p, 0o666))
	}
}

// release writes to the FIFO the bottle waits on, once it is there to
// read it, or gives up when the launch ended.
func release(t *testing.T, fifo string, ended <-chan struct{}) {
	t.Helper()
	for {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			_, _ = f.Write([]byte("go\n"))
			f.Close()
			return
		}
		select {
		case <-ended:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLaunchPidsLimit runs a bounded fork loop in a bottle with pids: 64:
// forks over the limit fail, the owner says so on the channel as it
// happens, the bottle goes on, and its exited event gives the reason.
func TestLaunchPidsLimit(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			e.writeBottle("forky", "resources: {pids: 64}\n")
			if be == "docker-runsc" {
				// gVisor's own threads share the container's pids count:
				// the launch is refused, saying so, before anything runs.
				out, err := e.launchCmd("forky", "sh", "-c", "echo RAN").CombinedOutput()
				if err == nil || strings.Contains(string(out), "RAN") || !strings.Contains(string(out), "cannot be enforced under runsc") {
					t.Fatalf("a pids limit under runsc: %v\n%s", err, out)
				}
				return
			}
			mkfifos(t, e.workdir, "hold", "go")
			cmd := e.launchCmd("forky", "sh", "-c", limitscript.ForkLoopOrNproc)
			var out, errb lockedBuf
			cmd.Stdout, cmd.Stderr = &out, &errb
			must(t, cmd.Start())
			ended := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(ended) }()
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-ended })

			// The test lets the bottle end only once the owner has
			// reported the limit live.
			deadline := time.After(2 * time.Minute)
		poll:
			for {
				if l, _, _ := e.limitEvents(); len(l) > 0 {
					break poll
				}
				select {
				case <-ended:
					t.Fatalf("launch ended before the limit was reported: %v\n%s\n%s", waitErr, out.String(), errb.String())
				case <-deadline:
					t.Fatalf("no bottle.limit event\n%s\n%s", out.String(), errb.String())
				case <-time.After(200 * time.Millisecond):
				}
			}
			release(t, filepath.Join(e.workdir, "go"), ended)
			<-ended
			t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
			if waitErr != nil {
				t.Fatalf("launch: %v", waitErr)
			}
			s := out.String()
			if !strings.Contains(s, "pids.max=64") || !strings.Contains(s, "fork") || !strings.Contains(s, "done") {
				t.Fatalf("want a pids limit of 64 read from inside, a refused fork, and the bottle to go on")
			}
			limits, last, id := e.limitEvents()
			if len(limits) != 1 || limits[0].Limit != schemas.LimitPids || limits[0].Max != "64" {
				t.Errorf("limit events %+v, want one for pids (64)", limits)
			}
			if last.State != schemas.StateExited || last.Reason != schemas.ReasonPidsLimit || last.Limits == nil || last.Limits.PidsRefused == 0 {
				t.Errorf("last lifecycle %+v (limits %+v): want exited, reason pids_limit, refused forks counted", last, last.Limits)
			}
			if ps, _ := e.cli("ps", "--all"); !strings.Contains(ps, "exited (0, pids_limit)") {
				t.Errorf("ps --all does not give the reason:\n%s", ps)
			}
			e.assertNothingLeft(id)
		})
	}
}

// TestLaunchMemoryLimit runs a memory hog in a bottle with memory: 64M:
// the kernel kills it, the owner ends the rest of the bottle, survives,
// and the exited event says oom.
func TestLaunchMemoryLimit(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			if be == "docker-runsc" {
				t.Skip("gVisor shows a bottle no cgroup, so the hog cannot first read its limit from inside; launcher/docker's TestLimitsUnderRunsc checks what the Engine holds")
			}
			e := newE2E(t, be)
			e.writeBottle("hog", "resources: {memory: 64M}\n")
			cmd := e.launchCmd("hog", "sh", "-c", limitscript.MemoryHog)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			t.Logf("launch: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("launch: %v; want it to exit with the bottle's code", err)
			}
			if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() || ee.ExitCode() < 128 {
				t.Fatalf("launch ended %v: the owner must survive and report the bottle's signal death", ws)
			}
			if strings.Contains(errb.String(), "panic") {
				t.Errorf("the owner panicked")
			}
			s := out.String()
			if !strings.Contains(s, "memory.max=67108864") || strings.Contains(s, "still-running") {
				t.Fatalf("want a 64MiB limit read from inside and the whole bottle ended")
			}
			limits, last, id := e.limitEvents()
			if len(limits) != 1 || limits[0].Limit != schemas.LimitMemory || limits[0].Max != "64MiB" {
				t.Errorf("limit events %+v, want one for memory (64MiB)", limits)
			}
			if last.State != schemas.StateExited || last.Reason != schemas.ReasonOOM || last.Limits == nil || last.Limits.OOMKills == 0 {
				t.Errorf("last lifecycle %+v (limits %+v): want exited, reason oom, an OOM kill counted", last, last.Limits)
			}
			e.assertNothingLeft(id)
		})
	}
}

// cgroupsNamed lists cgroup folders named for bottle id under
// /sys/fs/cgroup, a few levels deep: where any owner would have made them.
func cgroupsNamed(id string) []string {
	var out []string
	name := "bot-bottle-" + id
	_ = filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == name {
			out = append(out, p)
		}
		if strings.Count(p, "/") > 6 || strings.Contains(p, "/docker/") {
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// TestLaunchPidsFallbackNonRoot launches as a user who cannot have a
// cgroup on this machine (cgroup v1 is root's; on v2 the test user's
// cgroup is not delegated): pids is bounded by RLIMIT_NPROC in the
// bottle's user namespace, with a warning at plan and launch, and limits
// that cannot be enforced refuse the launch.
func TestLaunchPidsFallbackNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run bot-bottle as another user")
	}
	const nobody = 65534
	base, err := os.MkdirTemp("", "bbnr-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	home, hostHome, work := filepath.Join(base, "bb"), filepath.Join(base, "home"), filepath.Join(base, "work")
	for _, d := range []string{filepath.Join(home, "bottles"), hostHome, work} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(home, "bottles", "forky.yaml"), []byte("resources: {pids: 64}\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(home, "bottles", "hog.yaml"), []byte("resources: {memory: 64M, pids: 64}\n"), 0o644))
	data, err := os.ReadFile(botBottle(t))
	must(t, err)
	bin := filepath.Join(base, "bot-bottle")
	must(t, os.WriteFile(bin, data, 0o755))
	mkfifos(t, work, "hold", "go")
	must(t, filepath.WalkDir(base, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}))
	must(t, os.Chmod(base, 0o755))
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HOME=" + hostHome, "BOT_BOTTLE_HOME=" + home, "PATH=" + os.Getenv("PATH")}
		cmd.Dir = work
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
		return cmd
	}
	if out, err := run("launch", "--backend", "local", "forky", "--", "true").CombinedOutput(); err != nil &&
		strings.Contains(string(out), "cannot create the bottle's namespaces") {
		t.Skipf("no user namespaces for an unprivileged user here: %s", out)
	}

	plan, _ := run("plan", "hog").CombinedOutput()
	if !strings.Contains(string(plan), "launch --backend local will refuse: resources.memory (64MiB)") {
		t.Errorf("plan does not warn that the memory limit cannot be enforced:\n%s", plan)
	}
	out, err := run("launch", "--backend", "local", "hog", "--", "true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "resources.memory (64MiB) cannot be enforced here") {
		t.Errorf("launch of an unenforceable memory limit: %v\n%s", err, out)
	}
	plan, _ = run("plan", "forky").CombinedOutput()
	if !strings.Contains(string(plan), "RLIMIT_NPROC") {
		t.Errorf("plan does not warn about the RLIMIT_NPROC fallback:\n%s", plan)
	}

	cmd := run("launch", "--backend", "local", "forky", "--", "sh", "-c", limitscript.ForkLoopOrNproc)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var errb lockedBuf
	cmd.Stderr = &errb
	must(t, cmd.Start())
	ended := make(chan struct{})
	var out2 bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out2.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "forkerr=") {
				go release(t, filepath.Join(work, "go"), ended)
			}
		}
	}()
	<-read // all of stdout, before Wait closes the pipe
	waitErr := cmd.Wait()
	close(ended)
	t.Logf("launch: %v\nstdout:\n%s\nstderr:\n%s", waitErr, out2.String(), errb.String())
	if waitErr != nil {
		t.Fatalf("launch: %v", waitErr)
	}
	s := out2.String()
	if !strings.Contains(s, "pids.max=64") || !strings.Contains(s, "fork") || !strings.Contains(s, "done") {
		t.Fatalf("want RLIMIT_NPROC of 64 read from inside, a refused fork, and the bottle to go on")
	}
	if !strings.Contains(errb.String(), "warning: local backend: resources.pids (64) is enforced with RLIMIT_NPROC") {
		t.Errorf("launch does not warn about the fallback")
	}
	ps, _ := run("ps", "--all", "--json").CombinedOutput()
	if !strings.Contains(string(ps), "RLIMIT_NPROC") {
		t.Errorf("the registry does not keep the warning:\n%s", ps)
	}
}
