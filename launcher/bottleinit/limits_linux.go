package bottleinit

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// waitGate blocks until the owner has put the init into the bottle's
// cgroups and says so with one byte on fd (0: no gate). Nothing else is
// started before: a process forked earlier would stay outside the limits.
func waitGate(fd int) error {
	if fd == 0 {
		return nil
	}
	f := os.NewFile(uintptr(fd), "start gate")
	defer f.Close()
	var b [1]byte
	for {
		n, err := f.Read(b[:])
		switch {
		case n == 1:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("wait for the owner to put the bottle in its cgroups: %w", err)
		}
	}
}

// limitTasks sets RLIMIT_NPROC for the command. The init sets it on itself
// just before the command starts, inside the bottle's user namespace,
// where the kernel (5.14 and later) counts the bottle's own tasks.
func limitTasks(n int64) error {
	if n <= 0 {
		return nil
	}
	lim := unix.Rlimit{Cur: uint64(n), Max: uint64(n)}
	if err := unix.Setrlimit(unix.RLIMIT_NPROC, &lim); err != nil {
		return fmt.Errorf("set RLIMIT_NPROC to %d: %w", n, err)
	}
	return nil
}

// cgroupMounts is where a host mounts its cgroup hierarchies.
const cgroupMounts = "/sys/fs/cgroup"

// readonlyCgroups makes every cgroup hierarchy the bottle can see
// read-only, so that it can neither lift its own limits nor move itself
// out of its cgroup. The command runs in a nested user namespace, where
// the read-only flag is locked.
func readonlyCgroups() error {
	points, err := mountPoints()
	if err != nil {
		return fmt.Errorf("read-only cgroups: %w", err)
	}
	for _, p := range points {
		if !under(p, cgroupMounts) {
			continue
		}
		flags, err := mountFlags(p)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EACCES) {
			continue // shadowed by a later mount, or unreachable
		}
		if err != nil {
			return fmt.Errorf("read-only cgroups: %s: %w", p, err)
		}
		if err := unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
			return fmt.Errorf("read-only cgroups: remount %s: %w", p, err)
		}
	}
	return nil
}
