package netns

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/creack/pty"
)

// ioDrainDelay bounds how long Wait waits for output after the init exits:
// the pid namespace is gone by then, so the last bytes are already in the
// pipe or pty; only a stdin copy can still be blocked.
const ioDrainDelay = 5 * time.Second

// process is a running local bottle: the init, and the goroutines that
// carry its terminal when it has one.
type process struct {
	// cmd describes the init; the owner starts it, or its spawner (sp)
	// does from what cmd says.
	cmd  *exec.Cmd
	sp   *spawner
	ch   child // the started init
	ptmx *os.File
	// id is who the bottle runs as; its lease is held until Wait.
	id identity
	// lim bounds the bottle's resources; its cgroups go in Release.
	lim *limits
	// mountWarnings say what its mounts show that they should not (the
	// kept home bound on an older kernel).
	mountWarnings []string
	// done is closed when the pty output has been copied out.
	done chan struct{}

	waitOnce sync.Once
	code     int
	err      error
	mu       sync.Mutex
	killer   *time.Timer // set by Stop, stopped by Wait
}

var _ launcher.Process = (*process)(nil)

func (p *process) start(io launcher.Stdio) error {
	if io.Terminal != nil {
		return p.startTTY(io)
	}
	close(p.done)
	return p.launch(io.In, io.Out, io.Err)
}

// launch starts the init with in, out and errw as its stdio: itself, or
// through its spawner.
func (p *process) launch(in io.Reader, out, errw io.Writer) error {
	if p.sp == nil {
		p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = in, out, errw
		p.cmd.WaitDelay = ioDrainDelay
		if err := p.cmd.Start(); err != nil {
			return err
		}
		p.ch = directChild{p.cmd}
		return nil
	}
	c := &spawned{exit: make(chan exitNote, 1)}
	ends, closeEnds, err := spawnStdio(c, in, out, errw)
	if err != nil {
		return err
	}
	defer closeEnds()
	if err := p.sp.spawn(p.cmd, ends, c); err != nil {
		c.abandon()
		return err
	}
	p.ch = c
	return nil
}

// startTTY gives the init (and so the command) a pty of its own, sized like
// the owner's terminal, and copies both ways.
func (p *process) startTTY(stdio launcher.Stdio) error {
	ptmx, tty, err := pty.Open()
	if err != nil {
		close(p.done)
		return err
	}
	_ = pty.InheritSize(stdio.Terminal, ptmx)
	if p.id.rootOwner {
		// The bottle's root is not the owner: give it its terminal, so
		// that programs reopening /dev/stdin or their tty can.
		if err := tty.Chown(p.id.uid, p.id.gid); err != nil {
			_ = ptmx.Close()
			_ = tty.Close()
			close(p.done)
			return fmt.Errorf("give the bottle its terminal: %w", err)
		}
	}
	err = p.launch(tty, tty, tty)
	_ = tty.Close() // the bottle holds its own copy; EOF on ptmx once it exits
	if err != nil {
		_ = ptmx.Close()
		close(p.done)
		return err
	}
	p.ptmx = ptmx
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			_ = pty.InheritSize(stdio.Terminal, ptmx)
		}
	}()
	if stdio.In != nil {
		go func() { _, _ = io.Copy(ptmx, stdio.In) }()
	}
	go func() {
		defer close(p.done)
		defer signal.Stop(winch)
		if stdio.Out != nil {
			_, _ = io.Copy(stdio.Out, ptmx) // ends with EIO when the last slave closes
		}
	}()
	return nil
}

// ID returns the init's pid on the host.
func (p *process) ID() string { return strconv.Itoa(p.ch.pid()) }

// ContainerID is "": a local bottle is no container.
func (p *process) ContainerID() string { return "" }

// Wait waits for the init and its output.
func (p *process) Wait() (int, error) {
	p.waitOnce.Do(func() {
		ws, err := p.ch.wait()
		select {
		case <-p.done:
		case <-time.After(ioDrainDelay):
		}
		if p.ptmx != nil {
			_ = p.ptmx.Close()
		}
		p.mu.Lock()
		if p.killer != nil {
			p.killer.Stop()
		}
		p.mu.Unlock()
		p.code, p.err = exitCode(ws, err)
		p.id.release()
	})
	return p.code, p.err
}

// exitCode turns the init's end into the command's exit code; the init
// already reports a signal death of the command as 128+N, and a kill of the
// init itself is reported the same way.
func exitCode(ws syscall.WaitStatus, err error) (int, error) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), err
	}
	if err != nil {
		return -1, err
	}
	return ws.ExitStatus(), nil
}

// Stop sends SIGTERM to the init, which passes it to the command, and
// SIGKILL after grace, which ends the whole pid namespace.
func (p *process) Stop(grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killer != nil {
		return
	}
	_ = p.ch.signal(syscall.SIGTERM)
	p.killer = time.AfterFunc(grace, func() { _ = p.ch.signal(syscall.SIGKILL) })
}

// Release removes the bottle's cgroups; the namespaces went with the init.
func (p *process) Release(context.Context) error { return p.lim.release() }

// LimitHits reads the bottle's limit counters from its cgroups.
func (p *process) LimitHits() (schemas.LimitHits, bool) { return p.lim.hits() }

// Warnings says what the backend could not enforce as planned.
func (p *process) Warnings() []string {
	return append(append([]string(nil), p.lim.warnings...), p.mountWarnings...)
}
