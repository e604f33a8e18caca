package netns_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKernelStateOutOfReach: from inside a real bottle, the calls that
// reach kernel state no namespace separates, or widen the kernel's attack
// surface, are refused by the bottle's filter (ENOSYS, which no sysctl
// answers, so the filter is what refused them): the keyrings (where a
// user's Kerberos tickets and other keys live, per user id), bpf,
// userfaultfd and perf events, as Docker's default profile refuses them.
func TestKernelStateOutOfReach(t *testing.T) {
	f := newFixture(t)
	probe := filepath.Join(f.workdir, "kernelprobe")
	build := exec.Command("go", "build", "-o", probe, "./testdata/kernelprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, out)
	}
	os.Chmod(probe, 0o755)
	code, out := f.run(false, probe)
	t.Logf("exit %d\n%s", code, out)
	for _, name := range []string{"keyctl", "add_key", "request_key", "bpf", "userfaultfd", "perf_event_open"} {
		want := fmt.Sprintf("%s errno %d", name, int(unix.ENOSYS))
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the bottle's %s was not refused by its filter (want %q)", name, want)
		}
	}
}
