package netns_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/limitscript"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// startLimited starts command with res, releasing it (and its cgroups)
// at the end of the test.
func (f *fixture) startLimited(res schemas.PlannedResources, out *syncBuffer, command ...string) launcher.Process {
	f.t.Helper()
	spec := &launcher.Spec{
		BottleID: f.id, Home: f.bbHome, Owner: launcher.Self(), RunDir: f.rd, Workdir: f.workdir,
		HostHome: f.hostHome, HostPath: os.Getenv("PATH"), Resources: res,
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

// requireCgroups skips where this machine cannot give a non-root owner a
// cgroup (cgroup v1 is root's only); the fallback has its own test.
func requireCgroups(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroup limits on this machine need root; see TestPidsFallbackNonRoot")
	}
}

// recordedCgroups returns the cgroup folders the run folder recorded.
func (f *fixture) recordedCgroups() []string {
	data, err := os.ReadFile(filepath.Join(f.rd.Root, "cgroups"))
	if err != nil {
		f.t.Fatalf("no cgroup record: %v", err)
	}
	return strings.Fields(string(data))
}

func mkfifos(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := syscall.Mkfifo(p, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o666); err != nil { // past the umask: the bottle's user may not be ours
			t.Fatal(err)
		}
	}
}

func TestPidsLimitStopsForkLoop(t *testing.T) {
	requireCgroups(t)
	f := newFixture(t)
	mkfifos(t, f.workdir, "hold", "go")
	var out syncBuffer
	p := f.startLimited(schemas.PlannedResources{Pids: 64}, &out, "sh", "-c", limitscript.ForkLoop)
	waitFor(t, &out, "forkerr=")
	lr := p.(launcher.LimitReporter)
	h, ok := lr.LimitHits()
	if !ok || h.PidsRefused == 0 {
		t.Errorf("limit hits %+v (ok %v): want refused forks counted", h, ok)
	}
	if err := os.WriteFile(filepath.Join(f.workdir, "go"), []byte("go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	s := out.String()
	t.Logf("exit %d %v\n%s", code, err, s)
	if code != 0 || !strings.Contains(s, "pids.max=64") || !strings.Contains(s, "done") {
		t.Fatalf("want the loop bounded by a pids limit of 64 read from inside, and the bottle to go on")
	}
	if !strings.Contains(s, "fork") {
		t.Errorf("the shell did not report a failed fork")
	}
	dirs := f.recordedCgroups()
	if err := p.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left after Release", d)
		}
	}
}

func TestMemoryLimitKillsHog(t *testing.T) {
	requireCgroups(t)
	f := newFixture(t)
	var out syncBuffer
	p := f.startLimited(schemas.PlannedResources{MemoryBytes: 64 << 20}, &out, "sh", "-c", limitscript.MemoryHog)
	lr := p.(launcher.LimitReporter)
	// cgroup v2 ends the whole bottle in the kernel (memory.oom.group);
	// on v1 the hog alone is killed and the shell reports it. Either way
	// the counter says so.
	deadline := time.Now().Add(time.Minute)
	for {
		if h, _ := lr.LimitHits(); h.OOMKills > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no OOM kill counted; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop(0)
	code, _ := p.Wait()
	s := out.String()
	t.Logf("exit %d\n%s", code, s)
	if !strings.Contains(s, "memory.max=67108864") || strings.Contains(s, "still-running") {
		t.Errorf("want a 64MiB limit read from inside, and the bottle ended")
	}
	if strings.Contains(s, "dd-exit=0") {
		t.Errorf("the hog got its 200MiB")
	}
}

func TestLimitsVisibleInside(t *testing.T) {
	requireCgroups(t)
	f := newFixture(t)
	var out syncBuffer
	p := f.startLimited(schemas.PlannedResources{Pids: 100, MemoryBytes: 96 << 20, CPUs: 0.5}, &out, "sh", "-c", limitscript.ReadLimit+`
echo "pids=$(limit pids pids.max)"
echo "memory=$(limit memory memory.max) $(limit memory memory.limit_in_bytes)"
echo "swap=$(limit memory memory.swap.max) $(limit memory memory.memsw.limit_in_bytes)"
echo "cpu=$(limit cpu cpu.max) $(limit cpu cpu.cfs_quota_us)"
`)
	p.Wait()
	s := out.String()
	t.Logf("%s", s)
	for _, want := range []string{"pids=100", "100663296", "cpu="} {
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

// TestBottleCannotLiftItsLimits attacks from inside as an agent would,
// proving by looking, never by doing it: it writes back the value it just
// read of its own limits and of its owner's cgroup's, writes its pid into
// the cgroup it is already in, and, should it manage to mount the
// hierarchy afresh, writes back the limit it finds there. Every write must
// be refused (each would be a no-op if it were not) and the limit stay.
func TestBottleCannotLiftItsLimits(t *testing.T) {
	requireCgroups(t)
	f := newFixture(t)
	var out syncBuffer
	p := f.startLimited(schemas.PlannedResources{Pids: 64, MemoryBytes: 64 << 20, CPUs: 1}, &out, "sh", "-c", limitscript.ReadLimit+`
own() { grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup | cut -d: -f3; }
try() { v=$(cat "$1") && if echo "$v" > "$1" 2>/dev/null; then echo "WRITABLE $1"; fi; }
echo "before=$(limit pids pids.max) $(own pids)"
for c in pids memory cpu; do
  d=/sys/fs/cgroup/$c$(own $c)
  for dir in "$d" "$(dirname "$d")" "$(dirname "$(dirname "$d")")"; do
    for f in pids.max memory.limit_in_bytes memory.max cpu.cfs_quota_us cpu.max; do
      if [ -e "$dir/$f" ]; then try "$dir/$f"; fi
    done
  done
  if [ -e "$d/cgroup.procs" ] && echo $$ > "$d/cgroup.procs" 2>/dev/null; then echo "WRITABLE $d/cgroup.procs"; fi
done
# The cgroup mounts the bottle can reach: the last one at each point
# that still exists (the host's are under the bottle's own sysfs).
grep -E ' /sys/fs/cgroup' /proc/self/mountinfo | cut -d' ' -f5,6 | tac | sort -u -k1,1 | while read p o; do
  [ -e "$p" ] && echo "mount $p $o"
done
mkdir -p /tmp/cg2 /tmp/cgp
if mount -t cgroup2 none /tmp/cg2 2>/dev/null; then echo mounted-v2; fi
if mount -t cgroup -o pids none /tmp/cgp 2>/dev/null; then echo mounted-v1; fi
for d in /tmp/cg2 /tmp/cgp; do
  if grep -qx $$ $d/cgroup.procs 2>/dev/null && [ -e $d/pids.max ]; then try $d/pids.max; fi
done
echo "after=$(limit pids pids.max) $(own pids)"
`)
	p.Wait()
	s := out.String()
	t.Logf("%s", s)
	if strings.Contains(s, "WRITABLE") {
		t.Errorf("the bottle can write its own limits or cgroups")
	}
	if !strings.Contains(s, "before=64") || !strings.Contains(s, "after=64") {
		t.Errorf("want the limit of 64 before and after")
	}
	mounts := 0
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "mount" {
			mounts++
			if !strings.HasPrefix(f[2], "ro,") {
				t.Errorf("a cgroup hierarchy is mounted read-write in the bottle: %s", line)
			}
		}
	}
	if mounts == 0 {
		t.Errorf("the bottle sees no cgroup mount of its own")
	}
}
