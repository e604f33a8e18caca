package netns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// SpawnerCommand is the hidden bot-bottle subcommand that runs a
// long-lived owner's spawner (WithSpawner). Its owner starts it; a person
// never does.
const SpawnerCommand = "bottle-spawner"

// spawnerFD is the spawner's end of its owner's socket pair.
const spawnerFD = 3

// SpawnerMain runs the spawner: args are "--parent PID", the owner that
// started it. It starts each init its owner asks for, sends back the
// init's pid and pidfd, and, being the init's parent, reaps it and sends
// its wait status. It ends when its owner closes the socket or dies (its
// parent-death signal), and its inits end with it (theirs).
func SpawnerMain(args []string, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "bot-bottle %s: "+format+"\n", append([]any{SpawnerCommand}, a...)...)
		return 1
	}
	if len(args) != 2 || args[0] != "--parent" {
		return fail("usage: %s --parent PID (started by a bot-bottle owner, never by hand)", SpawnerCommand)
	}
	parent, err := strconv.Atoi(args[1])
	if err != nil || parent < 1 {
		return fail("--parent %q is not a pid", args[1])
	}
	// The parent-death signal is armed at clone; an owner that died
	// before that has left the spawner to another parent already.
	if os.Getppid() != parent {
		return fail("its owner (pid %d) is gone", parent)
	}
	var st unix.Stat_t
	if err := unix.Fstat(spawnerFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fail("descriptor %d is not its owner's socket", spawnerFD)
	}
	unix.CloseOnExec(spawnerFD)
	f := os.NewFile(spawnerFD, "owner")
	c, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return fail("its owner's socket: %v", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fail("descriptor %d is no unix socket", spawnerFD)
	}
	serveSpawns(uc, stderr)
	return 0
}

// serveSpawns answers requests until the owner's end closes. A message it
// cannot read (a bug in its owner) is answered if its sequence number can
// be, and logged; only the socket's end ends the spawner, since that ends
// every bottle it started.
func serveSpawns(c *net.UnixConn, stderr io.Writer) {
	var mu sync.Mutex
	send := func(r spawnReply, fds []int) error {
		mu.Lock()
		defer mu.Unlock()
		return writeSpawnMsg(c, r, fds)
	}
	for {
		var req spawnRequest
		files, err := readSpawnMsg(c, &req)
		switch {
		case isBadSpawnMsg(err):
			fmt.Fprintf(stderr, "bot-bottle %s: %v\n", SpawnerCommand, err)
			if req.Seq != 0 {
				_ = send(spawnReply{Seq: req.Seq, Err: err.Error()}, nil)
			}
			continue
		case err != nil:
			return
		}
		spawnOne(req, files, send, stderr)
	}
}

// spawnOne starts one init with the descriptors that came with its
// request, closes the spawner's copies, and waits for it in the
// background.
func spawnOne(req spawnRequest, files []*os.File, send func(spawnReply, []int) error, stderr io.Writer) {
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	fail := func(err error) { _ = send(spawnReply{Seq: req.Seq, Err: err.Error()}, nil) }
	want := 3 + req.Extra
	if req.Attr.UseCgroupFD {
		want++
	}
	switch {
	case req.Extra < 0 || len(files) != want:
		fail(fmt.Errorf("bottle spawner: the request carries %d descriptors, want %d", len(files), want))
		return
	case req.Path == "" || len(req.Args) == 0:
		fail(errors.New("bottle spawner: the request names no program"))
		return
	case req.Attr.Pdeathsig == 0:
		// Every bottle dies with its spawner; one that would not is refused.
		fail(errors.New("bottle spawner: the request has no parent-death signal"))
		return
	}
	cgroupFD := 0
	if req.Attr.UseCgroupFD {
		cgroupFD = int(files[want-1].Fd())
	}
	pidfd := -1
	attr := req.Attr.sysProcAttr(cgroupFD)
	attr.PidFD = &pidfd
	env := req.Env
	if env == nil {
		env = []string{}
	}
	cmd := &exec.Cmd{Path: req.Path, Args: req.Args, Env: env, Dir: req.Dir,
		Stdin: files[0], Stdout: files[1], Stderr: files[2], ExtraFiles: files[3 : 3+req.Extra], SysProcAttr: attr}
	if err := cmd.Start(); err != nil {
		fail(fmt.Errorf("bottle spawner: %w", err))
		return
	}
	var fds []int
	if pidfd >= 0 {
		fds = []int{pidfd}
	}
	err := send(spawnReply{Seq: req.Seq, Pid: cmd.Process.Pid}, fds)
	if pidfd >= 0 {
		_ = unix.Close(pidfd)
	}
	if err != nil {
		// Its owner cannot learn of it: it does not run.
		_ = cmd.Process.Kill()
	}
	go waitAndReport(cmd, req.Seq, send, stderr)
}

// waitAndReport waits for the init cmd runs and tells the owner how it
// ended. A wait that fails (the spawner is the init's only parent and
// waits once, so it should not) is said on stderr and reported as an end
// whose status is unknown, after a kill that makes it one: it must never
// end the spawner, whose death ends every bottle it started.
func waitAndReport(cmd *exec.Cmd, seq uint64, send func(spawnReply, []int) error, stderr io.Writer) {
	waitExited(cmd.Process.Pid)
	err := cmd.Wait()
	r := spawnReply{Seq: seq, Exited: true}
	if ws, ok := processStatus(cmd); ok {
		r.Status = uint32(ws)
	} else {
		_ = cmd.Process.Kill()
		if err == nil {
			err = errors.New("no wait status")
		}
		fmt.Fprintf(stderr, "bot-bottle %s: wait for init %d: %v\n", SpawnerCommand, cmd.Process.Pid, err)
		r.WaitErr = err.Error()
	}
	_ = send(r, nil)
}

// processStatus is cmd's wait status, once Wait has one.
func processStatus(cmd *exec.Cmd) (syscall.WaitStatus, bool) {
	if cmd.ProcessState == nil {
		return 0, false
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws, ok
}
