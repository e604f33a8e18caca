package docker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/moby/moby/client"
)

// TestRuntimeKernelFromInside looks at the kernel a bottle talks to. Under
// runsc it is gVisor's: its boot log starts "Starting gVisor...", and the
// version it reports is its own, not the host's. Under runc it is the
// host's. Nothing here tries to reach the host kernel's surface.
func TestRuntimeKernelFromInside(t *testing.T) { forRuntimes(t, testRuntimeKernelFromInside) }

func testRuntimeKernelFromInside(t *testing.T, f *fixture) {
	var out bytes.Buffer
	p := f.start(&out, "sh", "-c", `echo "== version"; cat /proc/version
echo "== release"; uname -r
echo "== dmesg"; dmesg 2>&1 | head -n 3
echo "== end"`)
	if code, err := p.Wait(); code != 0 || err != nil {
		t.Fatalf("exit %d, %v\n%s", code, err, out.String())
	}
	t.Logf("%s", out.String())
	s := sections(out.String())
	hostVersion, err := os.ReadFile("/proc/version")
	if err != nil {
		t.Fatal(err)
	}
	hostRelease := strings.Fields(string(hostVersion))[2]
	sameKernel := strings.TrimSpace(s["version"]) == strings.TrimSpace(string(hostVersion)) && strings.TrimSpace(s["release"]) == hostRelease
	gvisor := strings.Contains(s["dmesg"], "Starting gVisor")
	switch f.runtime {
	case schemas.RuntimeRunsc:
		if sameKernel || !gvisor {
			t.Errorf("runtime runsc: the bottle sees the host's kernel (%q), not gVisor's", strings.TrimSpace(s["version"]))
		}
	case schemas.RuntimeRunc:
		if !sameKernel || gvisor {
			t.Errorf("runtime runc: want the host's kernel, got %q", strings.TrimSpace(s["version"]))
		}
	}
	cli, _ := f.backend.Client()
	in, err := cli.ContainerInspect(context.Background(), p.ID(), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Container.HostConfig.Runtime != f.runtime {
		t.Errorf("the container runs under %q, want %q", in.Container.HostConfig.Runtime, f.runtime)
	}
}

// TestRunscGoferWorkdir: under runsc the bottle's files are read and
// written by gVisor's gofer, a host process, through its own mount of the
// workdir. That mount is the one the owner made nosuid,nodev (Docker
// cannot say so for a bind, and gVisor's own mount table inside shows only
// what the OCI spec said), so it is checked on the host.
func TestRunscGoferWorkdir(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("only a root owner mounts the workdir nosuid,nodev itself")
	}
	f := newFixture(t, schemas.RuntimeRunsc)
	var out bytes.Buffer
	p := f.start(&out, "sh", "-c", "echo ready; exec sleep 300")
	gofer := ""
	for deadline := time.Now().Add(time.Minute); gofer == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gofer = goferOf(p.ID())
	}
	if gofer == "" {
		t.Fatalf("no runsc gofer found for container %.12s", p.ID())
	}
	mi, err := os.ReadFile(filepath.Join("/proc", gofer, "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	opts := ""
	for _, l := range strings.Split(string(mi), "\n") {
		if fs := strings.Fields(l); len(fs) > 5 && fs[4] == f.workdir {
			opts = fs[5]
		}
	}
	if !strings.Contains(opts, "nosuid") || !strings.Contains(opts, "nodev") {
		t.Errorf("the gofer's workdir mount is %q, want nosuid,nodev", opts)
	}
}

// goferOf returns the pid of the runsc gofer of a container, or "".
func goferOf(containerID string) string {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		if len(args) > 0 && args[0] == "runsc-gofer" && strings.Contains(string(cmd), containerID) {
			return e.Name()
		}
	}
	return ""
}

// TestChooseRuntime: auto takes runsc when Docker has it, runc always
// works, and runsc where Docker has none is refused with the way to
// register it, never run under runc instead.
func TestChooseRuntime(t *testing.T) {
	b := newBackend(t)
	have, err := b.Runtimes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hasRunsc := false
	for _, rt := range have {
		hasRunsc = hasRunsc || rt == schemas.RuntimeRunsc
	}
	auto, err := b.ChooseRuntime(context.Background(), schemas.RuntimeAuto)
	if err != nil || (hasRunsc && auto != schemas.RuntimeRunsc) || (!hasRunsc && auto != schemas.RuntimeRunc) {
		t.Errorf("auto with %v: %q %v", have, auto, err)
	}
	if rt, err := b.ChooseRuntime(context.Background(), schemas.RuntimeRunc); rt != schemas.RuntimeRunc || err != nil {
		t.Errorf("runc: %q %v", rt, err)
	}
	rt, err := b.ChooseRuntime(context.Background(), schemas.RuntimeRunsc)
	if hasRunsc && (rt != schemas.RuntimeRunsc || err != nil) {
		t.Errorf("runsc with %v: %q %v", have, rt, err)
	}
	if !hasRunsc && (err == nil || !strings.Contains(err.Error(), "daemon.json")) {
		t.Errorf("runsc without it registered: %q %v", rt, err)
	}
	bin, _ := testbin.Path()
	gone := docker.New(docker.Options{Exe: bin, Host: "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")})
	if _, err := gone.ChooseRuntime(context.Background(), schemas.RuntimeAuto); err == nil {
		t.Errorf("auto without a daemon chose a runtime")
	}
}
