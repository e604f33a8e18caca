package netns

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// child is a started bottle init: the owner's own child (directChild), or
// its spawner's (spawned).
type child interface {
	pid() int
	signal(syscall.Signal) error
	// wait returns the init's wait status once it has exited and its
	// output has been copied out (or ioDrainDelay has passed).
	wait() (syscall.WaitStatus, error)
}

// directChild is an init the owner started itself with exec.Cmd.
type directChild struct{ cmd *exec.Cmd }

func (c directChild) pid() int                        { return c.cmd.Process.Pid }
func (c directChild) signal(sig syscall.Signal) error { return c.cmd.Process.Signal(sig) }

func (c directChild) wait() (syscall.WaitStatus, error) {
	waitExited(c.cmd.Process.Pid)
	err := c.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, err
	}
	ws, _ := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws, nil
}

// exitNote is the end of a spawned init as its spawner reported it.
type exitNote struct {
	ws  syscall.WaitStatus
	err error
}

// spawned is an init the spawner started: signalled through its pidfd,
// reaped by the spawner, which reports its status.
type spawned struct {
	pidNum int
	pidfd  *os.File // nil on a kernel without pidfds
	exit   chan exitNote

	mu     sync.Mutex
	exited bool

	// The owner's ends of the pipes that carry stdio that is no file, as
	// exec.Cmd makes them; copies are the goroutines copying output out.
	pipes  []*os.File
	stdinW *os.File
	copies sync.WaitGroup
}

func (c *spawned) pid() int { return c.pidNum }

// signal sends sig through the pidfd, which names this process even after
// its pid is reused; without one, by pid, until the spawner reported its
// end (it reaps it only then, so the pid is not yet free).
func (c *spawned) signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return os.ErrProcessDone
	}
	if c.pidfd == nil {
		return syscall.Kill(c.pidNum, sig)
	}
	rc, err := c.pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return err
	}
	return serr
}

func (c *spawned) wait() (syscall.WaitStatus, error) {
	n := <-c.exit
	c.mu.Lock()
	c.exited = true
	if c.pidfd != nil {
		_ = c.pidfd.Close()
	}
	c.mu.Unlock()
	if c.stdinW != nil {
		_ = c.stdinW.Close()
	}
	drained := make(chan struct{})
	go func() { c.copies.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(ioDrainDelay):
	}
	for _, p := range c.pipes {
		_ = p.Close()
	}
	return n.ws, n.err
}

// abandon closes the owner's pipe ends of an init that did not start.
func (c *spawned) abandon() {
	for _, p := range c.pipes {
		_ = p.Close()
	}
	if c.stdinW != nil {
		_ = c.stdinW.Close()
	}
}

// spawnStdio gives the init descriptors 0-2 for r, w and e as exec.Cmd
// would: nil is /dev/null, a file is passed as it is, anything else gets
// a pipe and a goroutine copying it (one pipe when w and e are the same).
// It returns the init's ends, to close once the spawner has its copies,
// and attaches the owner's ends to c.
func spawnStdio(c *spawned, r io.Reader, w, e io.Writer) (ends [3]*os.File, closeEnds func(), err error) {
	var mine []*os.File // the init's ends this opened
	closeEnds = func() {
		for _, f := range mine {
			_ = f.Close()
		}
	}
	fail := func(err error) ([3]*os.File, func(), error) {
		closeEnds()
		c.abandon()
		return [3]*os.File{}, nil, err
	}
	switch in := r.(type) {
	case nil:
		f, err := os.Open(os.DevNull)
		if err != nil {
			return fail(err)
		}
		mine, ends[0] = append(mine, f), f
	case *os.File:
		ends[0] = in
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		mine, ends[0], c.stdinW = append(mine, pr), pr, pw
		go func() { _, _ = io.Copy(pw, in); _ = pw.Close() }()
	}
	for i, out := range []io.Writer{w, e} {
		if i == 1 && sameWriter(w, e) && ends[1] != nil {
			ends[2] = ends[1]
			break
		}
		switch o := out.(type) {
		case nil:
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				return fail(err)
			}
			mine, ends[1+i] = append(mine, f), f
		case *os.File:
			ends[1+i] = o
		default:
			pr, pw, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			mine, ends[1+i] = append(mine, pw), pw
			c.pipes = append(c.pipes, pr)
			c.copies.Add(1)
			go func() { defer c.copies.Done(); _, _ = io.Copy(o, pr) }()
		}
	}
	return ends, closeEnds, nil
}

// sameWriter is w == e, false where they cannot be compared.
func sameWriter(w, e io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return w != nil && w == e
}
