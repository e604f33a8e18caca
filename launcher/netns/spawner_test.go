package netns_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// parentOf reads pid's parent from /proc.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "PPid:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no PPid in /proc/%d/status", pid)
	return 0
}

func cmdline(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(data), "\x00", " ")
}

// waitGone fails t unless pid has exited within a minute: its pidfd turns
// readable when it does, zombie or not, child of anyone.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone and reaped already
	}
	defer unix.Close(fd)
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if n, err := unix.Poll(p, 1000); err == nil && n > 0 {
			return
		}
	}
	t.Fatalf("%s (pid %d) still runs a minute later", what, pid)
}

// spawnerOf returns the spawner that started the bottle p, checking that it
// is the spawner, and this process's child.
func spawnerOf(t *testing.T, p launcher.Process) (initPid, spawner int) {
	t.Helper()
	initPid, err := strconv.Atoi(p.ID())
	if err != nil {
		t.Fatal(err)
	}
	spawner = parentOf(t, initPid)
	if c := cmdline(spawner); !strings.Contains(c, netns.SpawnerCommand) {
		t.Fatalf("the init's parent (pid %d) is %q, not the spawner", spawner, c)
	}
	if pp := parentOf(t, spawner); pp != os.Getpid() {
		t.Fatalf("the spawner's parent is pid %d, not its owner %d", pp, os.Getpid())
	}
	return initPid, spawner
}

// waitCode waits for p, failing t after a minute.
func waitCode(t *testing.T, p launcher.Process) (int, error) {
	t.Helper()
	type res struct {
		code int
		err  error
	}
	ch := make(chan res, 1)
	go func() { c, err := p.Wait(); ch <- res{c, err} }()
	select {
	case r := <-ch:
		return r.code, r.err
	case <-time.After(time.Minute):
		t.Fatal("the bottle's Wait did not return within a minute")
	}
	return 0, nil
}

func TestSpawnerDeathEndsBottles(t *testing.T) {
	f := newFixture(t)
	var out1, out2 syncBuffer
	p1 := f.start(false, &out1, "sh", "-c", "echo up; exec sleep 1000")
	p2 := f.start(false, &out2, "sh", "-c", "echo up; exec sleep 1000")
	waitFor(t, &out1, "up")
	waitFor(t, &out2, "up")
	init1, sp := spawnerOf(t, p1)
	init2, sp2 := spawnerOf(t, p2)
	if sp != sp2 {
		t.Fatalf("two bottles of one backend have two spawners (%d, %d)", sp, sp2)
	}
	if err := syscall.Kill(sp, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, p := range []launcher.Process{p1, p2} {
		code, err := waitCode(t, p)
		if err == nil || !strings.Contains(err.Error(), "spawner died") {
			t.Errorf("bottle %s: Wait error %v, want one saying the spawner died", p.ID(), err)
		}
		if code != 128+int(syscall.SIGKILL) {
			t.Errorf("bottle %s: exit code %d, want %d (killed)", p.ID(), code, 128+int(syscall.SIGKILL))
		}
	}
	waitGone(t, init1, "the first bottle's init")
	waitGone(t, init2, "the second bottle's init")
	var out syncBuffer
	p3 := f.start(false, &out, "sh", "-c", "echo up; exec sleep 1000")
	waitFor(t, &out, "up")
	if _, sp3 := spawnerOf(t, p3); sp3 == sp {
		t.Fatalf("the next launch used the dead spawner %d", sp)
	}
	p3.Stop(10 * time.Second)
	if code, err := waitCode(t, p3); err != nil || code != 128+int(syscall.SIGTERM) {
		t.Fatalf("the new spawner's bottle, stopped: code %d, err %v; want %d", code, err, 128+int(syscall.SIGTERM))
	}
}

// TestSpawnerOwnerHelper is the owner TestOwnerDeathKillsSpawnerAndBottles
// kills: it starts a bottle through a spawner, says who is who, and waits
// to be killed.
func TestSpawnerOwnerHelper(t *testing.T) {
	if os.Getenv("BOT_BOTTLE_SPAWNER_OWNER") == "" {
		t.Skip("run by TestOwnerDeathKillsSpawnerAndBottles")
	}
	f := newFixture(t)
	var out syncBuffer
	p := f.start(false, &out, "sh", "-c", "echo up; exec sleep 1000")
	waitFor(t, &out, "up")
	initPid, sp := spawnerOf(t, p)
	// The root of this test's temporary folders: the owner is killed, so
	// its own cleanup never runs, and the killer removes it.
	fmt.Printf("owner-pids %d %d %s\n", initPid, sp, filepath.Dir(t.TempDir()))
	select {}
}

func TestOwnerDeathKillsSpawnerAndBottles(t *testing.T) {
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	newFixture(t) // skips where the local backend cannot run
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSpawnerOwnerHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "BOT_BOTTLE_SPAWNER_OWNER=1", "BOT_BOTTLE_TEST_BIN="+bin)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var initPid, sp int
	var base string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "owner-pids %d %d %s", &initPid, &sp, &base); err == nil {
			break
		}
	}
	if sp == 0 {
		t.Fatal("the owner said nothing of its bottle")
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(os.Stdout) }()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, sp, "the dead owner's spawner")
	waitGone(t, initPid, "the dead owner's bottle")
}

func TestSpawnerExitCodesAndSignals(t *testing.T) {
	f := newFixture(t)
	if code, out := f.run(false, "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit 7: code %d; output:\n%s", code, out)
	}
	if code, out := f.run(false, "sh", "-c", "kill -KILL $$"); code != 128+int(syscall.SIGKILL) {
		t.Errorf("killed command: code %d, want %d; output:\n%s", code, 128+int(syscall.SIGKILL), out)
	}
	var out syncBuffer
	p := f.start(false, &out, "sh", "-c", "echo up; exec sleep 1000")
	waitFor(t, &out, "up")
	spawnerOf(t, p)
	p.Stop(30 * time.Second)
	if code, err := waitCode(t, p); err != nil || code != 128+int(syscall.SIGTERM) {
		t.Errorf("stopped bottle: code %d, err %v; want %d", code, err, 128+int(syscall.SIGTERM))
	}
}

// TestNoDescriptorLeaks: the command sees stdio only (ls's own listing
// aside), started by the spawner as when started directly; and the
// spawner keeps nothing of a bottle that ended.
func TestNoDescriptorLeaks(t *testing.T) {
	fdsOf := func(f *fixture) []string {
		_, out := f.run(false, "ls", "/proc/self/fd")
		return strings.Fields(out)
	}
	sf, df := newFixture(t), newDirectFixture(t)
	want := []string{"0", "1", "2", "3"} // 3: the folder ls reads
	if got := fdsOf(sf); !slices.Equal(got, want) {
		t.Errorf("through the spawner, the command has descriptors %v, want %v", got, want)
	}
	if got := fdsOf(df); !slices.Equal(got, want) {
		t.Errorf("started directly, the command has descriptors %v, want %v", got, want)
	}
	var out syncBuffer
	p := sf.start(false, &out, "sh", "-c", "echo up; exec sleep 1000")
	waitFor(t, &out, "up")
	_, sp := spawnerOf(t, p)
	p.Stop(0)
	_, _ = p.Wait()
	count := func() int {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", sp))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	before := count()
	for range 3 {
		sf.run(false, "true")
	}
	if after := count(); after != before {
		t.Errorf("the spawner held %d descriptors before three bottles and %d after", before, after)
	}
}

// TestTerminalThroughSpawner: a bottle with a terminal gets a pty as its
// stdio, through the spawner as when started directly.
func TestTerminalThroughSpawner(t *testing.T) {
	for _, mode := range []struct {
		name string
		f    func(*testing.T) *fixture
	}{{"spawner", newFixture}, {"direct", newDirectFixture}} {
		t.Run(mode.name, func(t *testing.T) {
			f := mode.f(t)
			ptmx, term, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer ptmx.Close()
			defer term.Close()
			if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 33, Cols: 77}); err != nil {
				t.Fatal(err)
			}
			var out syncBuffer
			spec := f.spec(false, "sh", "-c", `test -t 0 && test -t 1 && echo "tty-ok $(stty size)"; exit 4`)
			spec.Stdio = launcher.Stdio{Terminal: term, Out: &out}
			p, err := f.backend.Start(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Stop(time.Second); p.Wait() })
			if code, err := waitCode(t, p); err != nil || code != 4 {
				t.Fatalf("code %d, err %v; want 4; output:\n%s", code, err, out.String())
			}
			if !strings.Contains(out.String(), "tty-ok 33 77") {
				t.Fatalf("the command had no terminal of the owner's size; output:\n%s", out.String())
			}
		})
	}
}

// TestSpawnerStartedByHandRefuses: the spawner serves only the owner that
// started it, through the socket it inherited.
func TestSpawnerStartedByHandRefuses(t *testing.T) {
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage: " + netns.SpawnerCommand + " --parent PID"},
		{[]string{"--parent", "x"}, `--parent "x" is not a pid`},
		{[]string{"--parent", "1"}, "its owner (pid 1) is gone"},
		{[]string{"--parent", strconv.Itoa(os.Getpid())}, "descriptor 3 is not its owner's socket"},
	} {
		out, err := exec.Command(bin, append([]string{netns.SpawnerCommand}, c.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("spawner %q: err %v, output %q; want a failure saying %q", c.args, err, out, c.want)
		}
	}
}
