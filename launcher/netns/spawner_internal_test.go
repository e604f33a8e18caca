package netns

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"golang.org/x/sys/unix"
)

// rawSpawn sends req with fds as it is, bypassing spawn's checks, and
// returns the spawner's answer.
func rawSpawn(t *testing.T, sp *spawner, req spawnRequest, fds []int) (*spawned, error) {
	t.Helper()
	c := &spawned{exit: make(chan exitNote, 1)}
	ps := pendingStart{c: c, done: make(chan error, 1)}
	sp.mu.Lock()
	sp.seq++
	req.Seq = sp.seq
	sp.pending[req.Seq] = ps
	sp.mu.Unlock()
	sp.wmu.Lock()
	err := writeSpawnMsg(sp.conn, req, fds)
	sp.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ps.done:
		return c, err
	case <-time.After(time.Minute):
		t.Fatal("the spawner did not answer within a minute")
	}
	return nil, nil
}

func TestSpawnerRefusesBadRequests(t *testing.T) {
	sp := testSpawner(t)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	n := int(null.Fd())
	stdio := []int{n, n, n}
	good := spawnRequest{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 5"}, Attr: spawnAttr{Pdeathsig: syscall.SIGKILL}}

	bad := good
	bad.Extra = 2
	if _, err := rawSpawn(t, sp, bad, stdio); err == nil || !strings.Contains(err.Error(), "carries 3 descriptors, want 5") {
		t.Errorf("descriptors missing: error %v", err)
	}
	bad = good
	bad.Attr.Pdeathsig = 0
	if _, err := rawSpawn(t, sp, bad, stdio); err == nil || !strings.Contains(err.Error(), "no parent-death signal") {
		t.Errorf("no parent-death signal: error %v", err)
	}
	bad = good
	bad.Path = "/nonexistent/bot-bottle"
	if _, err := rawSpawn(t, sp, bad, stdio); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("no such program: error %v", err)
	}
	// A message that is no request goes unanswered; the spawner goes on.
	sp.wmu.Lock()
	_, _, err = sp.conn.WriteMsgUnix([]byte("{not json"), nil, nil)
	sp.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	c, err := rawSpawn(t, sp, good, stdio)
	if err != nil {
		t.Fatalf("a good request after bad ones: %v", err)
	}
	if ws, err := c.wait(); err != nil || ws.ExitStatus() != 5 {
		t.Errorf("exit 5 came back as %v (status %d)", err, ws.ExitStatus())
	}

	if _, err := toSpawnAttr(&syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setsid: true}); err == nil || !strings.Contains(err.Error(), "does not carry") {
		t.Errorf("an attribute the wire cannot carry: error %v", err)
	}
	// exec.Cmd's nil Env means the owner's environment, which is never a
	// bottle's: refused before anything is sent.
	inherit := exec.Command("/usr/bin/env")
	inherit.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := sp.spawn(inherit, [3]*os.File{null, null, null}, &spawned{exit: make(chan exitNote, 1)}); err == nil || !strings.Contains(err.Error(), "no environment given") {
		t.Errorf("a start without an environment: error %v", err)
	}

	// A dead spawner fails every launch, clearly.
	_ = sp.cmd.Process.Kill()
	deadline := time.Now().Add(time.Minute)
	for sp.alive() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmd := exec.Command("/bin/true")
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = sp.spawn(cmd, [3]*os.File{null, null, null}, &spawned{exit: make(chan exitNote, 1)})
	if !errors.Is(err, errSpawnerDied) {
		t.Errorf("launch through a dead spawner: error %v, want %v", err, errSpawnerDied)
	}
}

// TestOwnerCgroupCountsItsSpawner: the owner's cgroup is still its own
// with its spawner in it (a v2 delegated scope), and no longer with any
// other process.
func TestOwnerCgroupCountsItsSpawner(t *testing.T) {
	dir := t.TempDir()
	write := func(pids ...int) {
		var lines []string
		for _, p := range pids {
			lines = append(lines, strconv.Itoa(p))
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const spawnerPid, stranger = 1 << 22, 1<<22 + 1
	write(os.Getpid(), spawnerPid)
	if onlySelf(dir) {
		t.Fatal("a process that is not the owner's spawner counted as the owner's")
	}
	addCompanion(spawnerPid)
	defer removeCompanion(spawnerPid)
	if !onlySelf(dir) {
		t.Fatal("the owner with its spawner is not alone in its cgroup")
	}
	write(os.Getpid(), spawnerPid, stranger)
	if onlySelf(dir) {
		t.Fatal("a stranger in the owner's cgroup went unnoticed")
	}
	write(spawnerPid)
	if onlySelf(dir) {
		t.Fatal("a cgroup without the owner counted as the owner's")
	}
}

// TestSpawnAttrRoundTrip: what the spawner starts an init with is exactly
// what the owner would have, for every identity, over the wire.
func TestSpawnAttrRoundTrip(t *testing.T) {
	for _, id := range []identity{
		{uid: 1000, gid: 1000},
		{uid: 1000, gid: 100, rootOwner: true},
		{uid: 0x60000001, gid: 0x60000001, rootOwner: true, idmap: true},
	} {
		want := sysProcAttr(id)
		want.UseCgroupFD, want.CgroupFD = true, 42
		a, err := toSpawnAttr(want)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(spawnRequest{Attr: a})
		if err != nil {
			t.Fatal(err)
		}
		var req spawnRequest
		if err := json.Unmarshal(data, &req); err != nil {
			t.Fatal(err)
		}
		if got := req.Attr.sysProcAttr(42); !reflect.DeepEqual(got, want) {
			t.Errorf("identity %+v: the spawner would start the init with\n%+v\nwant\n%+v", id, got, want)
		}
	}
}

// TestSpawnerClonesIntoCgroup: the cgroup descriptor a request carries is
// where the init is born (CLONE_INTO_CGROUP), as when the owner starts it.
func TestSpawnerClonesIntoCgroup(t *testing.T) {
	top := ""
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC && unix.Access(dir, unix.W_OK) == nil {
			top = dir
			break
		}
	}
	if top == "" {
		t.Skip("no writable cgroup v2 hierarchy")
	}
	name := "bot-bottle-spawner-test-" + strconv.Itoa(os.Getpid())
	cg := filepath.Join(top, name)
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(cg) })
	dir, err := os.Open(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	sp := testSpawner(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", "cat /proc/self/cgroup")
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	c := &spawned{exit: make(chan exitNote, 1)}
	err = sp.spawn(cmd, [3]*os.File{null, w, w}, c)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	if ws, err := c.wait(); err != nil || ws.ExitStatus() != 0 {
		t.Fatalf("cat /proc/self/cgroup: %v (status %d)", err, ws.ExitStatus())
	}
	if !strings.Contains(string(out), "0::/"+name+"\n") {
		t.Fatalf("the init was not born in its cgroup %s:\n%s", name, out)
	}
}

// testSpawner starts a spawner from the test binary, killed when the test
// ends.
func testSpawner(t *testing.T) *spawner {
	t.Helper()
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := startSpawner(bin, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.cmd.Process.Kill() })
	return sp
}
