package netns

import (
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSpawnerSurvivesAWaitThatFails: the spawner's wait for an init
// failing (here its child is reaped behind its back) once crashed the
// spawner on a nil ProcessState, and its death killed every bottle it had
// started (a benchmark at a thousand bottles lost 706). The end is now
// reported, with why its status is unknown.
func TestSpawnerSurvivesAWaitThatFails(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(cmd.Process.Pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	var got []spawnReply
	var stderr strings.Builder
	waitAndReport(cmd, 7, func(r spawnReply, _ []int) error { got = append(got, r); return nil }, &stderr)
	if len(got) != 1 || got[0].Seq != 7 || !got[0].Exited || got[0].WaitErr == "" {
		t.Fatalf("replies %+v: want one exit of 7 saying why its status is unknown", got)
	}
	if !strings.Contains(stderr.String(), "wait for init") {
		t.Errorf("the spawner did not say why: %q", stderr.String())
	}
}

// TestSpawnerReportsAnInitsStatus: the usual end carries the wait status.
func TestSpawnerReportsAnInitsStatus(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var got []spawnReply
	waitAndReport(cmd, 8, func(r spawnReply, _ []int) error { got = append(got, r); return nil }, &strings.Builder{})
	if len(got) != 1 || !got[0].Exited || got[0].WaitErr != "" || unix.WaitStatus(got[0].Status).ExitStatus() != 3 {
		t.Fatalf("replies %+v: want one exit with status 3", got)
	}
}
