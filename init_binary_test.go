package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBottleInitRunsFromItsOwnBuild looks at a local bottle's init on the
// host: it runs from bot-bottle-init when scripts/build.sh built it beside
// bot-bottle as one pair, and from bot-bottle itself when the
// bot-bottle-init beside it is another build (a partial upgrade): an init
// from another build could not be trusted with the boundary.
func TestBottleInitRunsFromItsOwnBuild(t *testing.T) {
	e := newE2E(t, "local")
	initExe := func() string {
		t.Helper()
		r := e.start("sh", "-c", "echo ready; exec sleep 600")
		defer func() { _, _ = e.cli("stop", r.id) }()
		pid := bottleInitPID(t, r.cmd.Process.Pid)
		exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		must(t, err)
		return exe
	}
	if got, want := initExe(), filepath.Join(filepath.Dir(e.bin), "bot-bottle-init"); got != want {
		t.Errorf("the init runs from %s, want %s (the pair's own init binary)", got, want)
	}

	// bot-bottle beside a bot-bottle-init of another build.
	other := t.TempDir()
	buildPair(t, other)
	data, err := os.ReadFile(e.bin)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(other, "bot-bottle.new"), data, 0o755))
	must(t, os.Rename(filepath.Join(other, "bot-bottle.new"), filepath.Join(other, "bot-bottle")))
	e.bin = filepath.Join(other, "bot-bottle")
	if got := initExe(); got != e.bin {
		t.Errorf("beside another build's bot-bottle-init, the init runs from %s, want %s", got, e.bin)
	}
}

// bottleInitPID finds the bottle init among owner's children: the one
// started as "bot-bottle bottle-init".
func bottleInitPID(t *testing.T, owner int) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(owner) + "/task")
	must(t, err)
	for _, task := range tasks {
		data, _ := os.ReadFile("/proc/" + strconv.Itoa(owner) + "/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(data)) {
			cmdline, _ := os.ReadFile("/proc/" + f + "/cmdline")
			if args := strings.Split(string(cmdline), "\x00"); len(args) > 1 && args[1] == "bottle-init" {
				pid, err := strconv.Atoi(f)
				must(t, err)
				return pid
			}
		}
	}
	t.Fatalf("owner %d has no bottle init among its children", owner)
	return 0
}
