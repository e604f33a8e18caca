//go:build linux

package bottleinit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// cgroupHelperEnv makes the test binary the helper of
// TestCgroupMountsStayOnTheirThread.
const cgroupHelperEnv = "BOTTLEINIT_CGROUP_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(cgroupHelperEnv) != "" {
		if err := cgroupHelper(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A cgroup namespace is a thread's: the init unshares one and mounts the
// bottle's cgroups from it. Done on whatever thread the init's goroutine
// was on, a mount made after the scheduler had moved the goroutine to
// another thread, still in the host's cgroup namespace, failed with EPERM
// (one launch in fifty with dozens in parallel), and the thread it left in
// the new namespace ran other work of the init. Here, in a user and mount
// namespace of its own (as root of it, like a bottle's init), a helper
// mounts its cgroups with its goroutine locked to one thread, and checks
// that the mounts are made and that its own thread's cgroup namespace did
// not change: the unshare happened on a thread of its own.
func TestCgroupMountsStayOnTheirThread(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cgroupHelperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("no user namespace for the helper here: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out.String())
	}
	t.Logf("helper:\n%s", out.String())
}

// cgroupHelper runs as root of its own user and mount namespaces.
func cgroupHelper() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupMounts, &st); err != nil {
		return err
	}
	c := &Cgroups{V1: []string{"pids"}}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		c = &Cgroups{V2: true}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := os.Readlink("/proc/thread-self/ns/cgroup")
	if err != nil {
		return err
	}
	if err := mountOwnCgroups(c); err != nil {
		return err
	}
	after, err := os.Readlink("/proc/thread-self/ns/cgroup")
	if err != nil {
		return err
	}
	if after != before {
		return fmt.Errorf("the caller's thread moved from cgroup namespace %s to %s: the unshare ran on it", before, after)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	want := cgroupMounts
	if !c.V2 {
		want = cgroupMounts + "/pids"
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == want && strings.Contains(l, " - cgroup") {
			fmt.Printf("mounted: %s\n", l)
			return nil
		}
	}
	return fmt.Errorf("no cgroup mount at %s:\n%s", want, mi)
}
