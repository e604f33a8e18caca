package cgroupfs

import (
	"os"
	"strings"
	"testing"
)

// Mountinfo and /proc/PID/cgroup as kernels print them: this CI machine
// (testdata, cgroup v1 with an empty unified hierarchy), a systemd host on
// cgroup v2, and containers of each kind.
const (
	v2Mounts = `24 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	v2Terminal = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope\n"

	v2PartMounts = `700 690 0:30 /a /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw
701 690 0:30 / /mnt/cg\040two rw - cgroup2 cgroup rw
`
	v1ContainerMounts = `720 710 0:35 /docker/abc /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime master:20 - cgroup cgroup rw,pids
721 710 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct
722 710 0:31 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
`
	v1ContainerCgroup = "12:pids:/docker/abc\n2:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n"
)

func parse(t *testing.T, mounts, cgroup string) *View {
	t.Helper()
	v, err := Parse(strings.NewReader(mounts), strings.NewReader(cgroup))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseV1Hybrid(t *testing.T) {
	mi, err := os.ReadFile("testdata/v1-hybrid.mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	cg, err := os.ReadFile("testdata/v1-hybrid.cgroup")
	if err != nil {
		t.Fatal(err)
	}
	v := parse(t, string(mi), string(cg))
	if v.V2 != "" {
		t.Errorf("the empty unified hierarchy of a hybrid host must not be used: V2 = %q", v.V2)
	}
	want := map[string]string{
		"pids":   "/sys/fs/cgroup/pids",
		"memory": "/sys/fs/cgroup/memory/process_api/0b78c52374b34a0671f7ecb3e6c47b83",
		"cpu":    "/sys/fs/cgroup/cpu",
	}
	for c, dir := range want {
		if v.V1[c] != dir || v.Dir(c) != dir {
			t.Errorf("%s: %q, want %q", c, v.V1[c], dir)
		}
	}
	// A container of this machine's Docker, seen from the host.
	v = parse(t, string(mi), "8:pids:/docker/0123abcd\n0::/docker/0123abcd\n")
	if got := v.Dir("pids"); got != "/sys/fs/cgroup/pids/docker/0123abcd" {
		t.Errorf("container pids folder %q", got)
	}
	if !v.UnderMount("/sys/fs/cgroup/pids/bot-bottle-x") || v.UnderMount("/sys/fs/cgroup/pids") ||
		v.UnderMount("/etc/passwd") || v.UnderMount("/sys/fs/cgroup/pids/../../../etc") {
		t.Error("UnderMount must accept only folders strictly inside a hierarchy")
	}
}

func TestParseV2(t *testing.T) {
	v := parse(t, v2Mounts, v2Terminal)
	want := "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope"
	if v.V2 != want || v.V2Top != "/sys/fs/cgroup" || len(v.V1) != 0 {
		t.Fatalf("v2 view %+v", v)
	}
	for _, c := range LimitControllers {
		if v.Dir(c) != want {
			t.Errorf("%s: %q", c, v.Dir(c))
		}
	}
}

// A mount may show only part of the hierarchy (a cgroup namespace's view,
// a bind of a subtree): a cgroup is found under the first mount that shows
// it, and a mount point with a space comes out unescaped.
func TestParseV2PartialMounts(t *testing.T) {
	for cg, want := range map[string]string{
		"0::/a/b\n":       "/sys/fs/cgroup/b",
		"0::/a\n":         "/sys/fs/cgroup",
		"0::/elsewhere\n": "/mnt/cg two/elsewhere",
	} {
		if v := parse(t, v2PartMounts, cg); v.V2 != want {
			t.Errorf("%q: %q, want %q", cg, v.V2, want)
		}
	}
}

func TestParseV1Container(t *testing.T) {
	v := parse(t, v1ContainerMounts, v1ContainerCgroup)
	for c, dir := range map[string]string{"pids": "/sys/fs/cgroup/pids", "cpu": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory"} {
		if got := v.V1[c]; got != dir {
			t.Errorf("%s: %q, want %q", c, got, dir)
		}
	}
	if v.V1Set["cpu"] != "cpu,cpuacct" || v.V1Set["cpuacct"] != "cpu,cpuacct" || v.V1Set["pids"] != "pids" {
		t.Errorf("controller sets %v", v.V1Set)
	}
	// A process outside the container's cgroup is not visible in it.
	v = parse(t, v1ContainerMounts, "12:pids:/docker/other\n")
	if _, ok := v.V1["pids"]; ok {
		t.Errorf("a cgroup outside the mounted part was placed: %+v", v.V1)
	}
}

func TestKeyedValue(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/pids.events", []byte("max 12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/memory.events", []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if KeyedValue(dir+"/pids.events", "max") != 12 || KeyedValue(dir+"/memory.events", "oom_kill") != 2 ||
		KeyedValue(dir+"/memory.events", "oom") != 1 || KeyedValue(dir+"/missing", "max") != 0 {
		t.Error("KeyedValue read the wrong numbers")
	}
}
