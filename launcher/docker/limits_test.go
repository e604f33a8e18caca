package docker_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/limitscript"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/schemas"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (f *fixture) startLimited(res schemas.PlannedResources, out *lockedBuffer, command ...string) launcher.Process {
	f.t.Helper()
	spec := &launcher.Spec{
		BottleID: f.id, Home: f.bbHome, Owner: f.owner, RunDir: f.rd, Workdir: f.workdir, Resources: res, Runtime: f.runtime,
		Init:  bottleinit.Config{Command: command, Dir: f.workdir},
		Stdio: launcher.Stdio{Out: out, Err: out},
	}
	p, err := f.backend.Start(context.Background(), spec)
	if err != nil {
		f.t.Fatalf("start: %v", err)
	}
	f.t.Cleanup(func() {
		p.Stop(time.Second)
		p.Wait()
		p.Release(context.Background())
	})
	return p
}

// waitHits polls the process's limit counters until ok says enough.
func waitHits(t *testing.T, p launcher.Process, out *lockedBuffer, ok func(schemas.LimitHits) bool) schemas.LimitHits {
	t.Helper()
	lr := p.(launcher.LimitReporter)
	deadline := time.Now().Add(time.Minute)
	for {
		h, _ := lr.LimitHits()
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("limit hits %+v; output:\n%s", h, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPidsLimitStopsForkLoop(t *testing.T) {
	f := newFixture(t, schemas.RuntimeRunc)
	for _, n := range []string{"hold", "go"} {
		p := filepath.Join(f.workdir, n)
		if err := syscall.Mkfifo(p, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	var out lockedBuffer
	p := f.startLimited(schemas.PlannedResources{Pids: 64}, &out, "sh", "-c", limitscript.ForkLoop)
	waitHits(t, p, &out, func(h schemas.LimitHits) bool { return h.PidsRefused > 0 })
	if err := os.WriteFile(filepath.Join(f.workdir, "go"), []byte("go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	s := out.String()
	t.Logf("exit %d %v\n%s", code, err, s)
	if code != 0 || !strings.Contains(s, "pids.max=64") || !strings.Contains(s, "done") || !strings.Contains(s, "fork") {
		t.Fatalf("want the loop bounded by a pids limit of 64 read from inside, a failed fork, and the bottle to go on")
	}
}

func TestMemoryLimitKillsHog(t *testing.T) {
	f := newFixture(t, schemas.RuntimeRunc)
	var out lockedBuffer
	p := f.startLimited(schemas.PlannedResources{MemoryBytes: 64 << 20, CPUs: 0.5}, &out, "sh", "-c", limitscript.MemoryHog)
	waitHits(t, p, &out, func(h schemas.LimitHits) bool { return h.OOMKills > 0 })
	p.Stop(0)
	code, _ := p.Wait()
	s := out.String()
	t.Logf("exit %d\n%s", code, s)
	if !strings.Contains(s, "memory.max=67108864") || strings.Contains(s, "still-running") || strings.Contains(s, "dd-exit=0") {
		t.Errorf("want a 64MiB limit read from inside, the hog killed and the bottle ended")
	}
	if h, _ := p.(launcher.LimitReporter).LimitHits(); h.OOMKills == 0 {
		t.Errorf("after exit: %+v, want the OOM kill kept", h)
	}
}

func TestLimitsVisibleInside(t *testing.T) {
	f := newFixture(t, schemas.RuntimeRunc)
	var out lockedBuffer
	p := f.startLimited(schemas.PlannedResources{Pids: 100, MemoryBytes: 96 << 20, CPUs: 0.5}, &out, "sh", "-c", limitscript.ReadLimit+`
echo "pids=$(limit pids pids.max)"
echo "memory=$(limit memory memory.max) $(limit memory memory.limit_in_bytes)"
echo "swap=$(limit memory memory.swap.max) $(limit memory memory.memsw.limit_in_bytes)"
echo "cpu=$(limit cpu cpu.max) $(limit cpu cpu.cfs_quota_us)"
`)
	p.Wait()
	s := out.String()
	t.Logf("%s", s)
	for _, want := range []string{"pids=100", "100663296"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.Contains(s, "50000 100000") && !strings.Contains(s, "cpu=none 50000") {
		t.Errorf("want a CPU quota of half the period")
	}
	if !strings.Contains(s, "swap=0") && !strings.Contains(s, "swap=none 100663296") && !strings.Contains(s, "swap=none none") {
		t.Errorf("swap must be held to the memory limit where it is accounted")
	}
}

// TestLimitsUnderRunsc: gVisor's own threads share the container's pids
// count, so a pids limit the manifest asks for is refused under runsc
// (at pids 64 the sandbox's file server fails, not the agent's forks),
// the default one is left out with a warning, and memory and CPU still
// bound the sandbox, as the Engine shows.
func TestLimitsUnderRunsc(t *testing.T) {
	f := newFixture(t, schemas.RuntimeRunsc)
	asked := schemas.PlannedResources{Pids: 64, Origin: map[string]string{"pids": "forky.yaml:1:12"}}
	spec := &launcher.Spec{BottleID: f.id, Home: f.bbHome, Owner: f.owner, RunDir: f.rd, Workdir: f.workdir,
		Resources: asked, Runtime: schemas.RuntimeRunsc, Init: bottleinit.Config{Command: []string{"true"}, Dir: f.workdir}}
	if p, err := f.backend.Start(context.Background(), spec); err == nil {
		p.Stop(0)
		p.Wait()
		p.Release(context.Background())
		t.Fatal("a pids limit the manifest asked for started under runsc")
	} else if !strings.Contains(err.Error(), "resources.pids (64, set at forky.yaml:1:12) cannot be enforced under runsc") {
		t.Fatalf("refusal does not say why: %v", err)
	}

	var out lockedBuffer
	def := schemas.PlannedResources{Pids: 4096, MemoryBytes: 96 << 20,
		Origin: map[string]string{"pids": schemas.OriginDefault, "memory": "hog.yaml:1:12"}}
	p := f.startLimited(def, &out, "sh", "-c", "read x < /dev/null; echo up")
	ws := p.(launcher.LimitReporter).Warnings()
	// The memory limit bounds a fork loop: nothing to warn about (the
	// warning without one: TestRunscResources).
	if slices.ContainsFunc(ws, func(w string) bool { return strings.Contains(w, "resources.pids") }) {
		t.Errorf("warnings %q speak of pids where a memory limit bounds forks", ws)
	}
	raw, err := exec.Command("docker", "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}}", "bot-bottle-"+f.id).Output()
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	if got := strings.TrimSpace(string(raw)); got != "100663296 100663296 <nil>" && got != "100663296 100663296 0" {
		t.Errorf("the Engine holds %q, want memory and swap at 96MiB and no pids limit", got)
	}
	p.Wait()
}
