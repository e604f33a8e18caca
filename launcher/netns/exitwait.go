package netns

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// waitExited returns once the process pid (a child of this process) has
// exited, leaving it unreaped for exec.Cmd.Wait, which then returns at
// once. os/exec waits in a blocking waitid that holds an OS thread for the
// whole life of the process: one thread per running bottle, a thousand in
// a serve that owns a thousand. A pidfd turns readable when its process
// exits, so here the wait is the runtime's poller's, and a waiting bottle
// costs a goroutine. Where the kernel has no pidfd (before 5.3) it returns
// at once and Wait blocks as before.
func waitExited(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EAGAIN) || (err == nil && info.Signo == 0) {
			return false // still running: wait until the pidfd is readable
		}
		return true // exited (or an error Wait will report itself)
	})
}
