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
