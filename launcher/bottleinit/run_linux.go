package bottleinit

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// msgPrefix starts every line the init prints: it speaks from inside the
// bottle, and must not read like the `bot-bottle init` command.
const msgPrefix = "bot-bottle (in the bottle): "

// Main is the entry point of the init: args are what follows the hidden
// subcommand (--config PATH). It returns the process exit code: the
// command's, or one of the Exit* codes when the bottle could not be built.
func Main(args []string, stderr io.Writer) int {
	// Nothing the owner passed (the config, socket and source descriptors)
	// may reach the command: an inherited descriptor of a host folder is a
	// way around every mount. The init's own uses survive exec-closing.
	if err := cloexecAll(); err != nil {
		fmt.Fprintf(stderr, "bot-bottle init: %v\n", err)
		return ExitSetup
	}
	// Not dumpable: a command running as the same user cannot ptrace the
	// init or read its memory, environment and descriptors.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	fl := flag.NewFlagSet("bottle-init", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", "", "path of the init config written by the launcher")
	cfgFD := fl.Int("config-fd", 0, "inherited descriptor to read the init config from")
	probe := fl.Bool("probe", false, "check that the namespaces the local backend needs work, then exit")
	hold := fl.Bool("hold", false, "wait for end of input, holding the namespaces it was started in")
	if err := fl.Parse(args); err != nil {
		return ExitSetup
	}
	if *hold {
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	}
	if *probe {
		if err := probeLocal(); err != nil {
			fmt.Fprintf(stderr, "%s%v\n", msgPrefix, err)
			return ExitSetup
		}
		return 0
	}
	var cfg *Config
	var err error
	if *cfgFD > 0 {
		cfg, err = LoadFD(*cfgFD)
	} else {
		cfg, err = Load(*cfgPath)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s%v\n", msgPrefix, err)
		return ExitSetup
	}
	code, err := Run(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%s%v\n", msgPrefix, err)
		if code == ExitNotFound && cfg.NotFoundHint != "" {
			fmt.Fprintf(stderr, "%s%s\n", msgPrefix, cfg.NotFoundHint)
		}
	}
	return code
}

// cloexecAll marks every descriptor above stderr close-on-exec.
func cloexecAll() error {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	// Before Linux 5.11: one by one.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("close inherited descriptors on exec: %w", err)
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// probeLocal does the privileged steps of a local bottle that can fail on
// a restricted host (a private mount tree, a fresh /proc, lo up) in a
// throwaway set of namespaces, so that launch can refuse before it starts
// anything.
func probeLocal() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a fresh /proc: %w", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a sysfs of the bottle's network: %w", err)
	}
	return bringUpLoopback()
}

// Run builds the bottle described by cfg, runs its command and returns the
// command's exit code (128+N when a signal N ended it).
func Run(cfg *Config) (int, error) {
	if err := waitGate(cfg.Gate); err != nil {
		return ExitSetup, err
	}
	if cfg.Mounts != nil {
		if cfg.Hostname != "" {
			if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
				return ExitSetup, fmt.Errorf("set hostname: %w", err)
			}
		}
		if err := setupMounts(cfg.Mounts); err != nil {
			return ExitSetup, err
		}
		if err := mountOwnCgroups(cfg.Cgroups); err != nil {
			return ExitSetup, err
		}
	}
	if err := bringUpLoopback(); err != nil {
		return ExitSetup, err
	}
	for _, f := range cfg.Forward {
		fw, err := listenForward(f)
		if err != nil {
			return ExitSetup, err
		}
		go fw.serve()
	}
	if err := writeFiles(cfg.Home, cfg.Clean, cfg.Files); err != nil {
		return ExitSetup, err
	}
	if cfg.TTY {
		sizeTerminal(cfg.Rows, cfg.Cols)
		releaseTerminal()
	}
	// Subscribe before the child exists, so no SIGCHLD or SIGTERM is lost
	// between its start and the loop below.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwardedSignals...)
	signal.Notify(sigs, unix.SIGCHLD)
	if err := limitTasks(cfg.NProc); err != nil {
		return ExitSetup, err
	}
	pid, err := startCommand(cfg)
	if err != nil {
		var code int
		switch {
		case errors.Is(err, fs.ErrNotExist):
			code = ExitNotFound
		case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.ENOEXEC):
			code = ExitNotRunnable
		default:
			code = ExitSetup
		}
		return code, err
	}
	// What set-up allocated is garbage now, and an init idles for the
	// bottle's whole life: give its pages back, which takes a few MiB off
	// every running bottle.
	debug.FreeOSMemory()
	return superviseChild(pid, sigs), nil
}

// forwardedSignals are passed on to the command. SIGWINCH is not among
// them: the kernel sends it to the terminal's foreground group itself.
var forwardedSignals = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// superviseChild forwards signals to the command and reaps every child
// until the command itself exits. As pid 1 the init inherits every orphan in
// the bottle; when it returns, the kernel kills whatever is left.
func superviseChild(pid int, sigs <-chan os.Signal) int {
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			_ = unix.Kill(pid, sig.(syscall.Signal))
			continue
		}
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				return exitCode(ws)
			}
		}
	}
	return ExitSetup // unreachable: the channel is never closed
}

func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return ExitSetup
}
