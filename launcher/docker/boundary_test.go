package docker_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func sections(out string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(out, "== ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		m[strings.TrimSpace(name)] = body
	}
	return m
}

// TestBoundaryContainer attacks the host from inside a docker bottle: a
// setuid file left in the workdir, a gain of privileges by exec, a global
// kernel knob. Writes write back what they read.
func TestBoundaryContainer(t *testing.T) { forRuntimes(t, testBoundaryContainer) }

func testBoundaryContainer(t *testing.T, f *fixture) {
	script := `
echo "== id"; id -u; id -g
echo "== status"; grep -E '^(CapEff|CapPrm|CapBnd):' /proc/self/status
echo "== nnp"; setpriv -d 2>&1 | grep no_new_privs
echo "== write"; echo data > written && echo ok
echo "== setuid"; cp /bin/busybox suid 2>&1; chmod 4755 suid 2>&1; echo chmod-exit=$?
echo "== setgid"; chmod 2755 suid 2>&1; echo chmod-exit=$?
echo "== core"; v=$(cat /proc/sys/kernel/core_pattern); (printf '%s\n' "$v" > /proc/sys/kernel/core_pattern) 2>&1 && echo written || echo refused
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== cmdline"; tr '\0' ' ' < /proc/1/cmdline; echo
echo "== end"`
	var out bytes.Buffer
	p := f.start(&out, "sh", "-c", script)
	code, err := p.Wait()
	t.Logf("exit %d err %v\n%s", code, err, out.String())
	s := sections(out.String())
	if ids := strings.Fields(s["id"]); len(ids) != 2 || ids[0] == "0" || ids[1] == "0" {
		t.Errorf("the container runs as root (uid, gid %v)", ids)
	}
	// gVisor's /proc/self/status has no NoNewPrivs line: ask prctl, as
	// setpriv does, under both runtimes.
	st := s["status"]
	if !strings.Contains(st, "CapEff:\t0000000000000000") || !strings.Contains(st, "CapBnd:\t0000000000000000") ||
		strings.TrimSpace(s["nnp"]) != "no_new_privs: 1" {
		t.Errorf("the container can gain privileges: %q %q", st, s["nnp"])
	}
	if !strings.Contains(s["write"], "ok") {
		t.Fatalf("the bottle cannot write its workdir: %q", s["write"])
	}
	var fi, wd syscall.Stat_t
	if err := syscall.Stat(filepath.Join(f.workdir, "written"), &fi); err != nil {
		t.Fatal(err)
	}
	syscall.Stat(f.workdir, &wd)
	if fi.Uid != wd.Uid {
		t.Errorf("the bottle's file is owned by %d on the host, want the workdir's owner %d", fi.Uid, wd.Uid)
	}
	if err := syscall.Stat(filepath.Join(f.workdir, "suid"), &fi); err == nil && fi.Mode&(syscall.S_ISUID|syscall.S_ISGID) != 0 {
		t.Errorf("the bottle left a setuid/setgid file in the workdir (mode %o, owner %d)", fi.Mode, fi.Uid)
	}
	if strings.Contains(s["setuid"], "chmod-exit=0") || strings.Contains(s["setgid"], "chmod-exit=0") {
		t.Errorf("the bottle could set setuid/setgid bits: %q %q", s["setuid"], s["setgid"])
	}
	if !strings.Contains(s["core"], "refused") {
		t.Errorf("the bottle could write kernel.core_pattern: %q", s["core"])
	}
	var workdirOpts string
	for _, l := range strings.Split(s["mountinfo"], "\n") {
		if fs := strings.Fields(l); len(fs) > 5 && fs[4] == f.workdir {
			workdirOpts = fs[5]
		}
	}
	// gVisor shows its own mount table, built from the OCI spec, where
	// Docker cannot say nosuid for a bind; the host mount its gofer reads
	// through is checked in TestRunscGoferWorkdir.
	if os.Getuid() == 0 && f.runtime == schemas.RuntimeRunc && (!strings.Contains(workdirOpts, "nosuid") || !strings.Contains(workdirOpts, "nodev")) {
		t.Errorf("the workdir is not mounted nosuid,nodev in the container: %q", workdirOpts)
	}
	bin, _ := testbin.Path()
	for _, where := range []string{"cmdline", "mountinfo"} {
		for what, p := range map[string]string{"the bot-bottle home": f.bbHome, "the run folder": f.rd.Root, "the binary": bin, "the binary's folder": filepath.Dir(bin)} {
			if where == "mountinfo" && os.Getuid() != 0 {
				continue // only a root owner can keep these paths out (see package doc)
			}
			if strings.Contains(s[where], p) && !strings.HasPrefix(f.workdir, p+"/") {
				t.Errorf("%s shows %s (%s)", where, what, p)
			}
		}
	}
	if ents, _ := os.ReadDir(f.rd.Root); len(ents) > 0 {
		for _, e := range ents {
			if e.Name() == "workdir" {
				if mounted(t, filepath.Join(f.rd.Root, "workdir")) {
					t.Errorf("the host-side workdir mount is still attached after the container started")
				}
			}
		}
	}
}

func mounted(t *testing.T, p string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), " "+p+" ")
}

// TestBoundaryUserWorkdir: in a folder a user owns, the container runs as
// that user, so the files it writes are theirs.
func TestBoundaryUserWorkdir(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give the workdir to another user")
	}
	forRuntimes(t, testBoundaryUserWorkdir)
}

func testBoundaryUserWorkdir(t *testing.T, f *fixture) {
	const uid, gid = 4242, 4243
	if err := os.Chown(f.workdir, uid, gid); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := f.start(&out, "sh", "-c", "id -u; id -g; echo data > written && echo ok; grep ' "+f.workdir+" ' /proc/self/mountinfo")
	code, err := p.Wait()
	t.Logf("exit %d err %v\n%s", code, err, out.String())
	if ids := strings.Fields(out.String()); len(ids) < 3 || ids[0] != "4242" || ids[1] != "4243" || ids[2] != "ok" {
		t.Errorf("want the container to run as the workdir's owner 4242:4243 and write there")
	}
	var fi syscall.Stat_t
	if err := syscall.Stat(filepath.Join(f.workdir, "written"), &fi); err != nil || fi.Uid != uid || fi.Gid != gid {
		t.Errorf("the bottle's file: owner %d:%d (%v), want %d:%d", fi.Uid, fi.Gid, err, uid, gid)
	}
	if f.runtime == schemas.RuntimeRunc && (!strings.Contains(out.String(), "nosuid") || !strings.Contains(out.String(), "nodev")) {
		t.Errorf("the workdir is not mounted nosuid,nodev")
	}
}
