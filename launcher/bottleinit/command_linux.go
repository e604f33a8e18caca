package bottleinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// startCommand starts cfg.Command with exactly cfg.Env, in cfg.Dir, on the
// init's stdin, stdout and stderr. With cfg.TTY the command leads a new
// session with stdin as its controlling terminal; with cfg.Nest it runs as
// root of a nested user namespace, in a mount namespace where every mount
// the init made is locked.
func startCommand(cfg *Config) (int, error) {
	path, err := lookPath(cfg.Command[0], envValue(cfg.Env, "PATH"), cfg.Dir)
	if err != nil {
		return 0, err
	}
	sys := &syscall.SysProcAttr{}
	if cfg.TTY {
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
	}
	if cfg.Nest {
		// A cgroup namespace too: the command sees its own cgroup as the
		// root, not the host's hierarchy.
		sys.Cloneflags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	attr := &os.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   sys,
	}
	p, err := startFiltered(cfg.Filter, path, cfg.Command, attr)
	if err != nil && cfg.TTY && errors.Is(err, unix.ENOTTY) {
		// gVisor (runsc) passes the container's terminal through as a
		// host tty that cannot be made a new session's controlling
		// terminal (it has no TIOCSCTTY, nor TIOCNOTTY for the init to
		// let go of it). The command stays in the init's session, whose
		// terminal it is, leading a foreground process group of its own:
		// ^C and the other terminal signals reach it, not the init.
		sys.Setsid, sys.Setctty = false, false
		sys.Setpgid, sys.Foreground = true, true
		p, err = startFiltered(cfg.Filter, path, cfg.Command, attr)
	}
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	_ = p.Release() // the init reaps by pid with wait4, not through p
	return pid, nil
}

// startFiltered starts the command under filter. The filter goes on one OS
// thread, locked to a goroutine that never unlocks it, and the command is
// forked from that thread: the child inherits the filter, and the thread
// ends with the goroutine, so no other work of the init ever runs on it.
func startFiltered(filter Filter, path string, argv []string, attr *os.ProcAttr) (*os.Process, error) {
	if !filter.enabled() {
		p, err := os.StartProcess(path, argv, attr)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", argv[0], err)
		}
		return p, nil
	}
	type result struct {
		p   *os.Process
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread carries the filter
		if err := filter.install(); err != nil {
			ch <- result{err: err}
			return
		}
		p, err := os.StartProcess(path, argv, attr)
		if err != nil {
			err = fmt.Errorf("start %s: %w", argv[0], err)
		}
		ch <- result{p, err}
	}()
	r := <-ch
	return r.p, r.err
}

// releaseTerminal gives up the init's controlling terminal when it has
// one (a container's tty makes pid 1 its session leader), so that the
// command can take the terminal for a session of its own: the kernel lets
// only one session hold a terminal. Giving it up sends SIGHUP to the init's
// own group, which must not reach the command, so it is ignored meanwhile.
func releaseTerminal() {
	sid, err := unix.IoctlGetInt(0, unix.TIOCGSID)
	if err != nil {
		return // not our controlling terminal
	}
	if own, err := unix.Getsid(0); err != nil || own != sid {
		return
	}
	signal.Ignore(unix.SIGHUP) // Run's signal.Notify takes it back
	_ = unix.IoctlSetInt(0, unix.TIOCNOTTY, 0)
}

// sizeTerminal gives a terminal that has no size yet the owner's: a
// container's tty starts at 0x0 on daemons older than API 1.42, and the
// owner's resize would race the command's first look.
func sizeTerminal(rows, cols uint16) {
	if rows == 0 || cols == 0 {
		return
	}
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil || (ws.Row != 0 && ws.Col != 0) {
		return
	}
	_ = unix.IoctlSetWinsize(0, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}

// lookPath finds name the way a shell would with the command's own PATH,
// not the init's.
func lookPath(name, pathEnv, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", fmt.Errorf("command %s: %w", name, err)
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %s: not found in PATH %q: %w", name, pathEnv, fs.ErrNotExist)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}

// envValue returns the value of name in a KEY=VALUE list; the last one wins,
// as in execve.
func envValue(env []string, name string) string {
	val := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val = v
		}
	}
	return val
}
