package launcher

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// InitCommand is the hidden bot-bottle subcommand that runs
// bottleinit.Main: the init of every bottle.
const InitCommand = "bottle-init"

// InitBinaryName is the file name of the init-only binary
// (cmd/bot-bottle-init) that the local backend starts bottles from when it
// lies beside bot-bottle and is the same build.
const InitBinaryName = "bot-bottle-init"

// Backend runs a bottle's command in isolation, with the bottle's run
// folder as its only way out. Implementations: launcher/netns (the local
// backend) and launcher/docker.
type Backend interface {
	// Name is the value of --backend that selects it.
	Name() string
	// Check reports, before anything is started, why the backend cannot
	// work on this machine; the error says what to do about it.
	Check(ctx context.Context) error
	// Start runs the command described by spec and returns once it is
	// running (or has failed to start, with nothing left behind).
	Start(ctx context.Context, spec *Spec) (Process, error)
	// Leftovers lists what this backend created for bottles of the home
	// (containers, networks) that no live owner holds, and RemoveLeftover
	// removes one: the crash-recovery half of cleanup.
	Leftovers(ctx context.Context, home string, alive func(Owner) bool) ([]Leftover, error)
	RemoveLeftover(ctx context.Context, l Leftover) error
}

// Spec is what a backend starts: the init config, and the host side of the
// bottle (its run folder, its stdio).
type Spec struct {
	// BottleID names the bottle; backends label what they create with it.
	BottleID string
	// Home is the bot-bottle home the bottle belongs to.
	Home string
	// Owner is the process that owns the bottle.
	Owner Owner
	// Init is what the in-bottle init will do: command, env, forwarders,
	// agent files. Backends fill in the parts that are theirs (mounts,
	// socket paths as seen inside) and write it to InitConfigPath.
	Init bottleinit.Config
	// RunDir is the bottle's run folder on the host.
	RunDir RunDir
	// Workdir is mounted read-write at its own path; ReadonlyRoot makes
	// everything else read-only.
	Workdir      string
	ReadonlyRoot bool
	// AgentHome is the host folder kept as the agent's home between
	// launches (AgentHomePath); the backend mounts it read-write where the
	// agent's HOME is. Empty: a fresh, empty home.
	AgentHome string
	// Protect lists the workdir paths mounted over themselves, read-only
	// or as anchors, after the workdir (see protect.go); nil protects
	// nothing.
	Protect *bottleinit.Protect
	// HostHome is the invoking user's home, hidden by the local backend.
	HostHome string
	// Hide are the host paths the manifest hides (schemas.HiddenPath),
	// which the local backend hides besides its own list; a container sees
	// only its image anyway.
	Hide []string
	// HostPath and HostUser are the host's PATH and USER: the only host
	// variables a backend may pass on (the local bottle runs the host's
	// programs as the host's user).
	HostPath, HostUser string
	// Image is the container image (docker); empty means the default.
	Image string
	// Resources are the limits on the bottle's whole process tree. A
	// backend refuses to start a bottle whose limits it cannot enforce,
	// except pids on the local backend, which falls back to RLIMIT_NPROC
	// with a warning (see LimitReporter).
	Resources schemas.PlannedResources
	// Runtime is the container runtime the bottle runs under, as its
	// backend's RuntimeChooser chose it (runc, runsc); empty means the
	// backend's default.
	Runtime string
	// Stdio connects the command to the owner.
	Stdio Stdio
}

// Stdio is how the command's stdin, stdout and stderr meet the owner. Out
// and Err are already teed to the bottle's output log by the launcher.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	// Terminal, when set, is the owner's terminal: the command gets a
	// terminal of its own (a pty or a container tty) sized like it and
	// following its resizes; In and Out carry the terminal's bytes and Err
	// is unused.
	Terminal *os.File
}

// Process is a started bottle command.
type Process interface {
	// ID is the container id (docker) or the init's host pid (local).
	ID() string
	// ContainerID is the container's id, or "" when the backend runs no
	// container.
	ContainerID() string
	// Wait blocks until the command has exited and its output is drained,
	// and returns its exit code (128+N for signal N).
	Wait() (int, error)
	// Stop asks the command to end (SIGTERM through the init), then kills
	// it after grace. It returns at once; Wait reports the end.
	Stop(grace time.Duration)
	// Release removes what the backend created for the process (the
	// container); it is called after Wait.
	Release(ctx context.Context) error
}

// LimitReporter is a Process that can say how its bottle met its
// resource limits. The launcher polls it while the bottle runs, and once
// more after Wait, before Release.
type LimitReporter interface {
	// LimitHits returns the counters so far; ok is false when the backend
	// cannot see them (no cgroup, a remote daemon).
	LimitHits() (h schemas.LimitHits, ok bool)
	// Warnings says what the backend could not enforce as planned.
	Warnings() []string
}

// RuntimeChooser is a Backend that runs bottles under a choice of container
// runtime (docker: runc or gVisor's runsc). The launcher asks it, before
// anything of the bottle starts, which runtime the plan's `runtime` key
// (schemas.Runtimes) gets on this machine; the error says why none fits
// and what to do. A Backend without it refuses runtime runsc.
type RuntimeChooser interface {
	ChooseRuntime(ctx context.Context, requested string) (string, error)
}

// Leftover is something a backend created for a bottle whose owner is gone.
type Leftover struct {
	Backend  string
	BottleID string
	Kind     string // "container", "network"
	ID       string
}

// Owner identifies the process that owns a bottle across pid reuse: a pid
// and the time the kernel started it (in clock ticks since boot).
type Owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	// Machine is the machine the owner runs on (ThisMachine there);
	// empty in records from before machines were named: this one.
	Machine string `json:"machine,omitempty"`
}

// hiddenPaths lists the host paths plan hides.
func hiddenPaths(plan *schemas.Plan) []string {
	out := make([]string, 0, len(plan.Hide))
	for _, h := range plan.Hide {
		out = append(out, h.Path)
	}
	return out
}
