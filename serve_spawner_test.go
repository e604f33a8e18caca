package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"
)

// TestServeSpawner: serve starts its local bottles through one spawner, its
// child in a process group of its own and the parent of every bottle's
// init. When the spawner dies, serve reports its bottles ended (failed,
// saying why) and the next launch gets a new spawner; when serve dies, the
// spawner and its bottles die with it.
func TestServeSpawner(t *testing.T) {
	if testing.Short() {
		t.Skip("launches bottles")
	}
	f := newFleet(t, true)
	f.grow(2)
	serve := f.srv.Process.Pid
	sp := serveSpawner(t, serve)
	if inits := childPids(sp); len(inits) != 2 {
		t.Fatalf("the spawner is the parent of %d processes, want the 2 bottles' inits", len(inits))
	}
	if pg, err := syscall.Getpgid(sp); err != nil || pg != sp {
		t.Errorf("the spawner's process group is %d (%v), want its own (%d)", pg, err, sp)
	}
	if err := syscall.Kill(sp, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := f.ps()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after its spawner died, serve lists %d bottles running", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := f.e.cli("ps", "--all", "--json"); err != nil || strings.Count(out, "spawner died") != 2 {
		t.Errorf("ps --all should say of both bottles that the spawner died (err %v):\n%s", err, out)
	}

	f.grow(3)
	sp2 := serveSpawner(t, serve)
	if sp2 == sp {
		t.Fatal("the launch after the spawner died used the dead one")
	}
	inits := childPids(sp2)
	if len(inits) != 1 {
		t.Fatalf("the new spawner is the parent of %d processes, want the new bottle's init", len(inits))
	}
	if err := f.srv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-f.srvEnd
	waitExit(t, sp2, "the killed serve's spawner")
	waitExit(t, inits[0], "the killed serve's bottle")
}

// serveSpawner returns serve's one spawner.
func serveSpawner(t *testing.T, serve int) int {
	t.Helper()
	var found []int
	for _, pid := range childPids(serve) {
		if data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(data), "bottle-spawner") {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("serve has %d spawners (%v), want 1", len(found), found)
	}
	return found[0]
}

// childPids lists pid's children.
func childPids(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if c, err := strconv.Atoi(e.Name()); err == nil && ppid(c) == pid {
			out = append(out, c)
		}
	}
	return out
}

// waitExit fails t unless pid exits within a minute (its pidfd turns
// readable, zombie or not).
func waitExit(t *testing.T, pid int, what string) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 60_000); err != nil || n == 0 {
		t.Fatalf("%s (pid %d) still runs a minute later", what, pid)
	}
}

// TestServeReapsItsSpawner: a serve that stops ends its spawner and reaps
// it, rather than leaving it to die by its parent-death signal after serve
// has gone. Then serve's own resource usage, as its parent reads it,
// includes what the spawner and every bottle it started used: here at
// least the CPU a bottle burned, which was the tree's before the stop.
func TestServeReapsItsSpawner(t *testing.T) {
	if testing.Short() {
		t.Skip("launches a bottle")
	}
	f := newFleet(t, true)
	res, err := f.op.CallTool(context.Background(), &sdk.CallToolParams{Name: "bottle_launch",
		Arguments: map[string]any{"name": "demo", "workdir": f.workdir(0), "command": []string{"sh", "-c",
			"head -c 200000000 /dev/zero | md5sum >/dev/null; echo burned; exec sleep 1000"}}})
	if err != nil || res.IsError {
		t.Fatalf("bottle_launch: %v %s", err, toolText(res))
	}
	sp := serveSpawner(t, f.srv.Process.Pid)
	deadline := time.Now().Add(time.Minute)
	// Until md5sum has burned its CPU and ended, reaped into its shell:
	// from then on the tree's usage moves only by the stop.
	for treeCPU(sp) < 200*time.Millisecond || treeHas(sp, "md5sum") {
		if time.Now().After(deadline) {
			t.Fatalf("the bottle used %v of CPU in a minute", treeCPU(sp))
		}
		time.Sleep(50 * time.Millisecond)
	}
	burned := treeCPU(sp)
	before := treeCPU(f.srv.Process.Pid)
	_ = f.srv.Process.Signal(syscall.SIGTERM)
	<-f.srvEnd
	ps := f.srv.ProcessState
	// The two readings round differently (the tree's from the scheduler's
	// nanoseconds, the exit's from rusage), hence half the burn of slack:
	// a spawner left to die unreaped takes all of it away.
	if used := ps.UserTime() + ps.SystemTime(); used < before-burned/2 {
		t.Fatalf("serve's usage at its exit (%v) lacks most of the %v its spawner's tree used (its tree's before the stop: %v): "+
			"serve did not reap its spawner", used, burned, before)
	}
}

// treeHas says whether a process named comm runs under root.
func treeHas(root int, comm string) bool {
	for _, p := range processTree([]int{root}) {
		if data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); strings.TrimSpace(string(data)) == comm {
			return true
		}
	}
	return false
}
