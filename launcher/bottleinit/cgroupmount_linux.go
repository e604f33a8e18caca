package bottleinit

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupMounts is where a bottle's cgroup hierarchies are mounted: over
// the bottle's own sysfs, which shows none of the host's.
const cgroupMounts = "/sys/fs/cgroup"

// cgroupFlags are those of every cgroup mount in a bottle: read-only, as
// a container runtime mounts them.
const cgroupFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// mountOwnCgroups shows the bottle its own cgroup at /sys/fs/cgroup, as a
// container sees its own: the init enters a cgroup namespace rooted at the
// cgroup the owner put it in, and mounts the hierarchies read-only, so
// programs that size themselves by their limits (runtimes, build tools)
// find them, and the bottle can read, never write, them. The sysfs under
// it is the bottle's own (kernelSurface).
//
// A cgroup namespace belongs to a thread, not to the process: unshare
// moves only the calling thread into the new one, and the mounts must be
// made from that thread, which the Go scheduler may otherwise leave for
// another between two system calls. Mounted from a thread still in the
// host's cgroup namespace, which the bottle's user namespace does not own,
// a mount fails with EPERM: about one launch in fifty with dozens in
// parallel did. The unshare and the mounts run on one locked thread that
// is thrown away afterwards, so no other work of the init runs in that
// namespace (the command gets a cgroup namespace of its own when it is
// started, rooted at the same cgroup).
func mountOwnCgroups(c *Cgroups) error {
	if c == nil || (!c.V2 && len(c.V1) == 0) {
		return nil
	}
	return onThreadOfItsOwn(func() error {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("cgroup namespace: %w", err)
		}
		return mountCgroups(c)
	})
}

// onThreadOfItsOwn runs fn on an OS thread locked to it and never
// unlocked: the thread ends with fn's goroutine, taking whatever fn
// changed about it (its namespaces) along.
func onThreadOfItsOwn(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- fn()
	}()
	return <-errc
}

// mountCgroups mounts the hierarchies of c; the calling thread is in the
// bottle's cgroup namespace.
func mountCgroups(c *Cgroups) error {
	if c.V2 {
		if err := unix.Mount("cgroup2", cgroupMounts, "cgroup2", cgroupFlags, ""); err != nil {
			return fmt.Errorf("mount the bottle's cgroup: %w", err)
		}
		return nil
	}
	// v1: a tmpfs holds one folder per hierarchy (and a link per
	// controller of a shared one, as cpu -> cpu,cpuacct), read-only once
	// they are in place.
	if err := unix.Mount("tmpfs", cgroupMounts, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755"); err != nil {
		return fmt.Errorf("mount the bottle's cgroups: %w", err)
	}
	for _, set := range c.V1 {
		if set == "" || strings.ContainsAny(set, "/.") {
			return fmt.Errorf("mount the bottle's cgroups: bad controller set %q", set)
		}
		dir := filepath.Join(cgroupMounts, set)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("mount the bottle's cgroups: %w", err)
		}
		if err := unix.Mount("cgroup", dir, "cgroup", cgroupFlags, set); err != nil {
			return fmt.Errorf("mount the bottle's %s cgroup: %w", set, err)
		}
		for _, c := range strings.Split(set, ",") {
			if c != set {
				_ = os.Symlink(set, filepath.Join(cgroupMounts, c))
			}
		}
	}
	if err := unix.Mount("", cgroupMounts, "", unix.MS_REMOUNT|unix.MS_BIND|cgroupFlags, ""); err != nil {
		return fmt.Errorf("mount the bottle's cgroups: read-only: %w", err)
	}
	return nil
}
