package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errSpawnerDied is the end of every bottle a spawner had started when it
// dies: they die with it (their parent-death signal).
var errSpawnerDied = errors.New("local backend: the bottle spawner died, and its bottles with it")

// spawner is the owner's side of its spawner process: a small bot-bottle
// that starts the bottle inits, so that each start copies its address
// space rather than the owner's. A user namespace keeps Go from starting a
// child with vfork, so the init of a bottle started by the owner itself
// costs a fork of the whole owner, which grows with every bottle it owns.
type spawner struct {
	cmd  *exec.Cmd
	conn *net.UnixConn
	wmu  sync.Mutex // one message at a time

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]pendingStart
	running map[uint64]*spawned
	dead    error // set once the spawner is gone

	exited chan struct{} // closed once the spawner has been reaped
}

// pendingStart is a request waiting for its answer: c gets the init's pid
// and pidfd, done the error.
type pendingStart struct {
	c    *spawned
	done chan error
}

// startSpawner starts the spawner from exe, with parent-death signal
// SIGKILL and in a process group of its own (a ^C at the owner's terminal
// is the owner's to handle, not a kill of every bottle at once), connected
// by a socket pair whose end it inherits.
func startSpawner(exe string, stderr *os.File) (*spawner, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("local backend: bottle spawner: socket pair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spawner"), os.NewFile(uintptr(fds[1]), "owner")
	defer theirs.Close()
	cmd := &exec.Cmd{Path: exe, Args: []string{"bot-bottle", SpawnerCommand, "--parent", strconv.Itoa(os.Getpid())},
		Env: []string{}, Dir: "/", Stderr: stderr, ExtraFiles: []*os.File{theirs},
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}}
	if err := cmd.Start(); err != nil {
		_ = ours.Close()
		return nil, fmt.Errorf("local backend: start the bottle spawner: %w", err)
	}
	c, err := net.FileConn(ours)
	_ = ours.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("local backend: bottle spawner: %w", err)
	}
	s := &spawner{cmd: cmd, conn: c.(*net.UnixConn), pending: map[uint64]pendingStart{}, running: map[uint64]*spawned{},
		exited: make(chan struct{})}
	addCompanion(cmd.Process.Pid)
	go s.read()
	go func() {
		waitExited(cmd.Process.Pid)
		removeCompanion(cmd.Process.Pid)
		_ = cmd.Wait()
		// Its inits hold no copy of the socket; this only makes sure the
		// reader ends even if a descriptor leaked.
		_ = s.conn.Close()
		close(s.exited)
	}()
	return s, nil
}

// spawnerExitWait bounds how long close waits for the spawner to end
// after its socket closed, before it kills it.
const spawnerExitWait = 5 * time.Second

// close ends the spawner: it reads the end of its socket and exits (a
// bottle it still had dies with it), and close reaps it, so that its CPU
// time and its bottles' are its owner's, as its owner's rusage reports.
func (s *spawner) close() {
	_ = s.conn.Close()
	select {
	case <-s.exited:
	case <-time.After(spawnerExitWait):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive says whether the spawner can still start bottles.
func (s *spawner) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead == nil
}

// read takes the spawner's replies until it dies, then ends every request
// and bottle it had.
func (s *spawner) read() {
	for {
		var r spawnReply
		files, err := readSpawnMsg(s.conn, &r)
		switch {
		case isBadSpawnMsg(err):
			// The spawner's own bug: it cannot be trusted to answer.
			_ = s.cmd.Process.Kill()
			continue
		case err != nil:
			s.die()
			return
		}
		s.deliver(r, files)
	}
}

func (s *spawner) deliver(r spawnReply, files []*os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Exited {
		for _, f := range files {
			_ = f.Close()
		}
		if c := s.running[r.Seq]; c != nil {
			delete(s.running, r.Seq)
			note := exitNote{ws: syscall.WaitStatus(r.Status)}
			if r.WaitErr != "" {
				note = exitNote{ws: syscall.WaitStatus(syscall.SIGKILL),
					err: fmt.Errorf("local backend: the bottle spawner could not wait for the init (%s); it was killed", r.WaitErr)}
			}
			c.exit <- note
		}
		return
	}
	ps, ok := s.pending[r.Seq]
	delete(s.pending, r.Seq)
	if r.Err != "" || !ok {
		for _, f := range files {
			_ = f.Close()
		}
		if ok {
			ps.done <- errors.New(r.Err)
		}
		return
	}
	c := ps.c
	c.pidNum = r.Pid
	if len(files) == 1 {
		c.pidfd = pollable(files[0])
	} else {
		for _, f := range files {
			_ = f.Close()
		}
	}
	s.running[r.Seq] = c
	ps.done <- nil
}

// die ends what the spawner had: requests fail, and each bottle is
// reported ended once it is (its parent-death signal kills it).
func (s *spawner) die() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead != nil {
		return
	}
	s.dead = errSpawnerDied
	for seq, ps := range s.pending {
		ps.done <- errSpawnerDied
		delete(s.pending, seq)
	}
	for seq, c := range s.running {
		delete(s.running, seq)
		go func() {
			if c.pidfd != nil {
				waitPidfd(c.pidfd)
			}
			c.exit <- exitNote{ws: syscall.WaitStatus(syscall.SIGKILL), err: errSpawnerDied}
		}()
	}
}

// spawn asks the spawner to start cmd (not started; its Path, Args, Env,
// Dir, ExtraFiles and SysProcAttr) with stdio as the init's descriptors
// 0-2; once it runs, c has its pid and pidfd.
func (s *spawner) spawn(cmd *exec.Cmd, stdio [3]*os.File, c *spawned) error {
	attr, err := toSpawnAttr(cmd.SysProcAttr)
	if err != nil {
		return err
	}
	// exec.Cmd reads a nil Env as "the owner's environment": a bottle must
	// be given its own, so a start that names none is a bug, refused.
	env := cmd.Env
	if env == nil {
		return errors.New("bottle spawner: a start with no environment given (it would inherit the owner's)")
	}
	fds := []int{int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd())}
	for _, f := range cmd.ExtraFiles {
		if f == nil {
			return errors.New("bottle spawner: a nil extra file")
		}
		fds = append(fds, int(f.Fd()))
	}
	if attr.UseCgroupFD {
		fds = append(fds, cmd.SysProcAttr.CgroupFD)
	}
	ps := pendingStart{c: c, done: make(chan error, 1)}
	s.mu.Lock()
	if s.dead != nil {
		s.mu.Unlock()
		return s.dead
	}
	s.seq++
	req := spawnRequest{Seq: s.seq, Path: cmd.Path, Args: cmd.Args, Env: env, Dir: cmd.Dir, Extra: len(cmd.ExtraFiles), Attr: attr}
	s.pending[req.Seq] = ps
	s.mu.Unlock()
	s.wmu.Lock()
	err = writeSpawnMsg(s.conn, req, fds)
	s.wmu.Unlock()
	if err != nil {
		s.mu.Lock()
		delete(s.pending, req.Seq)
		s.mu.Unlock()
		return fmt.Errorf("bottle spawner: send the request: %w", err)
	}
	return <-ps.done
}

// pollable turns a received descriptor into one the runtime's poller
// waits on, so that a waiting bottle costs a goroutine, not a thread.
func pollable(f *os.File) *os.File {
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	nfd := -1
	_ = rc.Control(func(fd uintptr) { nfd, _ = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
	if nfd < 0 {
		return nil
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		_ = unix.Close(nfd)
		return nil
	}
	return os.NewFile(uintptr(nfd), "pidfd")
}
