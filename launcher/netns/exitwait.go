package netns

import (
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
	waitPidfd(f)
}

// waitPidfd returns once the process of pidfd (non-blocking, so that the
// runtime's poller waits on it) has exited: a pidfd turns readable then,
// for any process, child or not.
func waitPidfd(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(p, 0)
		return err != nil || n > 0
	})
}
