package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/bot-bottle/bot-bottle/launcher"
	"golang.org/x/sys/unix"
)

// Name is the backend's --backend value.
const Name = "local"

// cloneFlags are the namespaces of a local bottle. IPC and UTS are not
// needed for the network boundary but cost nothing and keep System V
// shared memory and the hostname the bottle's own.
const cloneFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS

// Backend is the local namespace backend.
type Backend struct {
	exe      string
	initArgs []string

	checkOnce sync.Once
	checkErr  error

	probeCache   string // where a successful probe is remembered (WithProbeCache); empty: nowhere
	probeSkipped bool   // Check trusted a remembered probe, so a failed start probes again

	inits initBinaries // the init-only binary beside this one (b.exe empty)

	useSpawner bool // WithSpawner
	spawnMu    sync.Mutex
	sp         *spawner // the running spawner, started at the first launch
}

var _ launcher.Backend = (*Backend)(nil)

// New returns the local backend. exe is the bot-bottle binary (empty: this
// process's own executable) and initArgs select its init subcommand.
func New(exe string, initArgs ...string) *Backend {
	if len(initArgs) == 0 {
		initArgs = []string{launcher.InitCommand}
	}
	return &Backend{exe: exe, initArgs: initArgs}
}

// Name returns "local".
func (b *Backend) Name() string { return Name }

func (b *Backend) executable() (string, error) {
	if b.exe != "" {
		return b.exe, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("local backend: find the bot-bottle binary: %w", err)
	}
	return exe, nil
}

// Check starts the init in a throwaway set of the bottle's namespaces and
// has it make its mount tree private, mount /proc and bring up lo: the
// steps a locked-down host refuses. The result is cached for the process,
// and a success also in the probe cache, if there is one
// (WithProbeCache).
func (b *Backend) Check(ctx context.Context) error {
	b.checkOnce.Do(func() {
		facts := ""
		if exe, err := b.executable(); err == nil && b.probeCache != "" {
			facts, _ = probeFacts(exe)
		}
		if b.probeRemembered(facts) {
			b.probeSkipped = true
			return
		}
		if b.checkErr = b.probe(ctx); b.checkErr == nil {
			b.rememberProbe(facts)
		}
	})
	return b.checkErr
}

func (b *Backend) probe(ctx context.Context) error {
	var ex extraFiles
	defer ex.close()
	self, err := b.openInit(&ex)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, append(append([]string{}, b.initArgs...), "--probe")...)
	cmd.Args[0] = "bot-bottle"
	cmd.ExtraFiles = ex.files
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = sysProcAttr(probeIdentity())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		why := strings.TrimSpace(stderr.String())
		if why == "" {
			why = err.Error()
		}
		return fmt.Errorf("local backend: this machine cannot create the bottle's namespaces (%s): "+
			"enable unprivileged user namespaces (sysctl user.max_user_namespaces>0, kernel.unprivileged_userns_clone=1; "+
			"on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0), or use --backend docker", why)
	}
	return nil
}

// sysProcAttr returns the attributes that start the init in its
// namespaces, its root mapped to id alone, and kill it if its owner dies.
func sysProcAttr(id identity) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Cloneflags:  cloneFlags,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: id.uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: id.gid, Size: 1}},
		// setgroups must be denied before an unprivileged user may map a gid.
		GidMappingsEnableSetgroups: false,
		Pdeathsig:                  syscall.SIGKILL,
	}
	if id.rootOwner {
		// Root's supplementary groups (host gid 0 among them) would
		// otherwise come along: drop them all.
		a.GidMappingsEnableSetgroups = true
		a.Credential = &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}}
	}
	return a
}

// Leftovers lists the cgroups of bottles whose owner died: a local
// bottle's processes die with their owner (parent-death signal and the pid
// namespace), but its cgroups stay until removed. The run folder is the
// launcher's.
func (b *Backend) Leftovers(_ context.Context, home string, alive func(launcher.Owner) bool) ([]launcher.Leftover, error) {
	return cgroupLeftovers(home, alive)
}

// RemoveLeftover removes a dead owner's bottle cgroup.
func (b *Backend) RemoveLeftover(_ context.Context, l launcher.Leftover) error {
	if l.Kind != leftoverCgroup {
		return fmt.Errorf("local backend: no leftover of kind %s", l.Kind)
	}
	return removeLeftoverCgroup(l)
}
