package netns_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"golang.org/x/sys/unix"
)

// sections splits a script's output at its "== name" lines.
func sections(out string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(out, "== ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		m[strings.TrimSpace(name)] = body
	}
	return m
}

// TestBoundaryKernelSurface attacks the host's kernel from inside a bottle
// the way an agent would: global sysctls, sysrq, sysfs knobs, kernel
// memory. Every write writes back the value just read, so a broken bottle
// changes nothing on the host.
func TestBoundaryKernelSurface(t *testing.T) {
	f := newFixture(t)
	script := `
echo "== core"; v=$(cat /proc/sys/kernel/core_pattern); printf '%s\n' "$v" 2>&1 > /proc/sys/kernel/core_pattern && echo written || echo refused
echo "== hostname"; v=$(cat /proc/sys/kernel/hostname); printf '%s\n' "$v" 2>&1 > /proc/sys/kernel/hostname && echo written || echo refused
echo "== sysrq"; (exec 3>>/proc/sysrq-trigger) 2>&1 && echo opened || echo refused
echo "== uevent"; if [ -e /sys/kernel/uevent_helper ]; then v=$(cat /sys/kernel/uevent_helper); printf '%s\n' "$v" 2>&1 > /sys/kernel/uevent_helper && echo written || echo refused; else echo refused; fi
echo "== kcore"; wc -c < /proc/kcore
echo "== keys"; wc -c < /proc/keys
echo "== timer"; wc -c < /proc/timer_list 2>&1
echo "== firmware"; ls -A /sys/firmware | wc -l
echo "== net"; ls /sys/class/net
echo "== cgroup"; cat /proc/self/cgroup
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== end"
`
	code, out := f.run(false, "sh", "-c", script)
	t.Logf("exit %d\n%s", code, out)
	s := sections(out)
	for _, name := range []string{"core", "hostname", "sysrq", "uevent"} {
		if !strings.Contains(s[name], "refused") || strings.Contains(s[name], "written") || strings.Contains(s[name], "opened") {
			t.Errorf("%s: the bottle could write a global kernel knob: %q", name, s[name])
		}
	}
	for name, p := range map[string]string{"kcore": "/proc/kcore", "keys": "/proc/keys", "timer": "/proc/timer_list", "firmware": "/sys/firmware"} {
		if _, err := os.Stat(p); err != nil {
			continue // this kernel has none
		}
		if strings.TrimSpace(s[name]) != "0" {
			t.Errorf("%s: not masked: %q", name, s[name])
		}
	}
	if got := strings.Fields(s["net"]); len(got) != 1 || got[0] != "lo" {
		t.Errorf("/sys/class/net shows %v: want the bottle's own lo only, not the host's interfaces", got)
	}
	for _, l := range strings.Split(strings.TrimSpace(s["cgroup"]), "\n") {
		if _, p, _ := strings.Cut(l[strings.Index(l, ":")+1:], ":"); p != "/" {
			t.Errorf("/proc/self/cgroup names a host cgroup (want / in a cgroup namespace): %q", l)
		}
	}
	mounts := parseMountinfo(s["mountinfo"])
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/sys"} {
		if _, err := os.Stat(p); err != nil {
			continue // this kernel has none
		}
		if opts, ok := mounts[p]; !ok || !hasOpt(opts, "ro") {
			t.Errorf("%s is not mounted read-only in the bottle (%q)", p, opts)
		}
	}
	if opts := mounts[f.workdir]; !hasOpt(opts, "nosuid") || !hasOpt(opts, "nodev") {
		t.Errorf("the workdir is not mounted nosuid,nodev: %q", opts)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/core_pattern"); err != nil || strings.Contains(string(b), f.workdir) {
		t.Errorf("host core_pattern: %q %v", b, err)
	}
}

// parseMountinfo maps each mount point to its per-mount options (the last
// mount at a point wins, as it is the one in view).
func parseMountinfo(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) > 5 {
			m[f[4]] = f[5]
		}
	}
	return m
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// TestBoundaryIdentity checks who the bottle is on the host: never uid 0,
// and the files it writes are the workdir owner's, never setuid, setgid or
// carrying a file capability.
func TestBoundaryIdentity(t *testing.T) {
	f := newFixture(t)
	script := fmt.Sprintf(`
echo "== hostroot"; ls -ln /etc/passwd | awk '{print $3}'
echo "== write"; echo data > written && echo ok
echo "== setuid"; cp /bin/true suid 2>&1; chmod 4755 suid 2>&1; echo chmod-exit=$?
echo "== setgid"; chmod 2755 suid 2>&1; echo chmod-exit=$?
echo "== create"; perl -e 'use Fcntl; sysopen(my $f, "created", O_CREAT|O_WRONLY, 06755) ? print "made\n" : print "refused $!\n"'
echo "== xattr"; perl -e 'my ($p, $n, $v) = ("written", "user.test", "v"); my $r = syscall(%d, $p, $n, $v, 1, 0); print $r == 0 ? "set\n" : "refused $!\n"'
echo "== fds"; ls /proc/self/fd | tr '\n' ' '; echo
echo "== pid1"; cat /proc/1/environ 2>&1 | head -c 200; echo; readlink -v /proc/1/exe 2>&1; readlink -v /proc/1/fd/0 2>&1; readlink -v /proc/1/root 2>&1
echo "== end"
`, unix.SYS_SETXATTR)
	var outBuf syncBuffer
	p := f.start(false, &outBuf, "sh", "-c", script+"sleep 30\n")
	waitFor(t, &outBuf, "== end")
	pid, _ := strconv.Atoi(p.ID())
	uidMap, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		t.Fatal(err)
	}
	gidMap, _ := os.ReadFile(fmt.Sprintf("/proc/%d/gid_map", pid))
	p.Stop(time.Second)
	p.Wait()
	out := outBuf.String()
	t.Logf("uid_map %q gid_map %q\n%s", uidMap, gidMap, out)
	s := sections(out)
	if m := strings.Fields(string(uidMap)); len(m) != 3 || m[0] != "0" || m[2] != "1" {
		t.Fatalf("uid_map %q: want the bottle's root and nothing else mapped", uidMap)
	} else if os.Getuid() == 0 && m[1] == "0" {
		t.Errorf("uid_map %q: the bottle's root is host root", uidMap)
	} else if os.Getuid() != 0 && m[1] != strconv.Itoa(os.Getuid()) {
		t.Errorf("uid_map %q: want the invoking user %d", uidMap, os.Getuid())
	}
	if m := strings.Fields(string(gidMap)); len(m) != 3 || (os.Getuid() == 0 && m[1] == "0") {
		t.Errorf("gid_map %q: the bottle's group is host root's", gidMap)
	}
	if os.Getuid() == 0 && strings.TrimSpace(s["hostroot"]) == "0" {
		t.Errorf("host root's files appear as owned by the bottle's root")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(f.workdir, "written"), &st); err != nil {
		t.Fatalf("the bottle's file did not reach the workdir: %v", err)
	}
	var wd syscall.Stat_t
	syscall.Stat(f.workdir, &wd)
	if st.Uid != wd.Uid {
		t.Errorf("the bottle's file is owned by %d on the host, want the workdir's owner %d", st.Uid, wd.Uid)
	}
	for _, name := range []string{"suid", "created"} {
		if err := syscall.Stat(filepath.Join(f.workdir, name), &st); err == nil && st.Mode&(syscall.S_ISUID|syscall.S_ISGID) != 0 {
			t.Errorf("%s: the bottle left a setuid/setgid file on the host (mode %o)", name, st.Mode)
		}
	}
	if strings.Contains(s["setuid"], "chmod-exit=0") || strings.Contains(s["setgid"], "chmod-exit=0") || strings.Contains(s["create"], "made") {
		t.Errorf("the bottle could set setuid/setgid bits: %q %q %q", s["setuid"], s["setgid"], s["create"])
	}
	if os.Getuid() == 0 && !strings.Contains(s["xattr"], "refused") {
		t.Errorf("a root owner's bottle could set extended attributes: %q", s["xattr"])
	}
	if fds := strings.Fields(s["fds"]); len(fds) > 4 {
		t.Errorf("the command inherited descriptors beyond stdio: %v", fds)
	}
	if n := strings.Count(s["pid1"], "ermission denied"); n != 4 {
		t.Errorf("the command can look into the init (want 4 refusals, got %d): %q", n, s["pid1"])
	}
}

// TestBoundaryHostFacts: nothing the bottle can read names the bot-bottle
// home, the run folder, the binary or the host user's home.
func TestBoundaryHostFacts(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(f.rd.SharedFile(launcher.CACertFile), []byte("-----BEGIN CERTIFICATE-----\ntest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
echo "== cmdline"; tr '\0' ' ' < /proc/1/cmdline
echo "== environ"; tr '\0' ' ' < /proc/1/environ 2>&1
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== run"; ls -A /run/bot-bottle; cat /run/bot-bottle/* 2>/dev/null
echo "== path"; echo "$PATH"
echo "== end"
`
	code, out := f.run(false, "sh", "-c", script)
	t.Logf("exit %d\n%s", code, out)
	bin, _ := testbin.Path()
	s := sections(out)
	if !strings.Contains(s["run"], "BEGIN CERTIFICATE") {
		t.Errorf("the bottle CA is not at %s", launcher.InBottle(launcher.CACertFile))
	}
	for _, where := range []string{"cmdline", "environ", "mountinfo", "run", "path"} {
		for what, p := range map[string]string{"the bot-bottle home": f.bbHome, "the run folder": f.rd.Root,
			"the binary": bin, "the binary's folder": filepath.Dir(bin), "the host home": f.hostHome} {
			if (where == "path" && what == "the host home") || strings.HasPrefix(f.workdir, p+"/") {
				continue // the workdir's own path may show
			}
			if strings.Contains(s[where], p) {
				t.Errorf("%s shows %s (%s)", where, what, p)
			}
		}
	}
	if strings.TrimSpace(s["cmdline"]) == "" {
		t.Errorf("no /proc/1/cmdline read")
	}
}

// TestBoundaryKeptHomeHostPath: the kept agent home is the bottle's HOME,
// read-write, yet nothing the bottle can read names where it is kept on the
// host (a bind's mountinfo root is its source's path in the host's
// filesystem).
func TestBoundaryKeptHomeHostPath(t *testing.T) {
	f := newFixture(t)
	f.agentHome = filepath.Join(f.bbHome, launcher.AgentHomesDir, "test-0123456789ab")
	if err := os.MkdirAll(f.agentHome, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.agentHome, "kept"), []byte("from-last-time\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `
echo "== home"; cat "$HOME/kept"; echo new > "$HOME/written" && echo written
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== mounts"; cat /proc/self/mounts
echo "== end"
`
	code, out := f.run(false, "sh", "-c", script)
	t.Logf("exit %d\n%s", code, out)
	s := sections(out)
	if !strings.Contains(s["home"], "from-last-time") || !strings.Contains(s["home"], "written") {
		t.Errorf("the bottle does not read and write its kept home at $HOME: %q", s["home"])
	}
	if b, err := os.ReadFile(filepath.Join(f.agentHome, "written")); err != nil || string(b) != "new\n" {
		t.Errorf("the bottle's write did not reach the kept home: %q, %v", b, err)
	}
	var st, home syscall.Stat_t
	if err := syscall.Stat(filepath.Join(f.agentHome, "written"), &st); err == nil && syscall.Stat(f.agentHome, &home) == nil && st.Uid != home.Uid {
		t.Errorf("the bottle's file in its kept home is owned by %d on the host, want the home's owner %d", st.Uid, home.Uid)
	}
	// The kept home's own name (the bottle's name and a hash of the
	// workdir, both of which the bottle knows) may show; where it is kept
	// may not.
	for _, where := range []string{"mountinfo", "mounts"} {
		for what, p := range map[string]string{"the bot-bottle home": f.bbHome, "the kept homes' folder": launcher.AgentHomesDir,
			"the kept home's host path": f.agentHome} {
			if strings.Contains(s[where], p) {
				t.Errorf("%s shows %s (%s)", where, what, p)
			}
		}
	}
}

// TestBoundaryUserWorkdir: root launching in a folder a user owns runs the
// bottle as that user, so the files it writes are theirs.
func TestBoundaryUserWorkdir(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("a root owner's choice; as a user the bottle is that user (TestBoundaryIdentity)")
	}
	uid, gid := ensureUser(t)
	f := newFixture(t)
	if err := os.Chown(f.workdir, uid, gid); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	p := f.start(false, &out, "sh", "-c", "echo data > written && echo == ok; sleep 30")
	waitFor(t, &out, "== ok")
	pid, _ := strconv.Atoi(p.ID())
	uidMap, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		t.Fatal(err)
	}
	p.Stop(time.Second)
	p.Wait()
	if m := strings.Fields(string(uidMap)); len(m) != 3 || m[1] != strconv.Itoa(uid) {
		t.Errorf("uid_map %q: want the workdir's owner %d", uidMap, uid)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(f.workdir, "written"), &st); err != nil || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("the bottle's file: owner %d:%d (%v), want %d:%d", st.Uid, st.Gid, err, uid, gid)
	}
}
