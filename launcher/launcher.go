package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/planner"
)

// Ports the init's forwarders listen on inside every bottle. Each bottle
// has a network namespace of its own, so fixed ports never collide, and an
// agent's environment is the same from one launch to the next.
const (
	DefaultProxyPort = 3128
	DefaultMCPPort   = 3129
	// DefaultGitGatePort is where the bottle's git gate answers, for a
	// bottle whose plan has a git-gate.
	DefaultGitGatePort = 3130
)

// DefaultStopGrace is how long a stopped command has between SIGTERM and
// SIGKILL.
const DefaultStopGrace = 10 * time.Second

// ErrUnknownBottle is returned (wrapped) for an id the registry has never
// seen.
var ErrUnknownBottle = errors.New("no such bottle")

// Config is what a Launcher works with. The CLI and the MCP server build it
// once per process.
type Config struct {
	// Home is the bot-bottle home: run folders go under Home/run.
	Home string
	// Planner plans bottles from Home.
	Planner *planner.Planner
	// HostEnv is the host environment: token values are read from it at
	// launch (and only then), and HOME, PATH, USER and TERM are the only
	// other variables taken from it (see Options).
	HostEnv map[string]string
	// Backends available to --backend; the first is the default.
	Backends []Backend
	// Registry reads the lifecycle events back; nil disables List, Lookup,
	// cross-process stop requests and the registry part of Cleanup.
	Registry Registry
	// Publisher receives lifecycle events and each proxy's denials.
	Publisher events.Publisher
	// Proxy is the template of every bottle's proxy config; Bottle, Routes,
	// Tokens, CA and Publisher are set per bottle. Its Resolve also pins
	// the git gates' upstreams.
	Proxy egressproxy.Config
	// GitUpstreamCAFile, when set, is a PEM file of the CAs the git gates
	// trust for https upstreams instead of the system's (tests).
	GitUpstreamCAFile string
	// Logger receives operational logs (never a secret); nil discards.
	Logger *slog.Logger
	// StopGrace is the SIGTERM-to-SIGKILL delay (default DefaultStopGrace).
	StopGrace time.Duration
	// LogLimit bounds each bottle's output.log (default DefaultLogLimit).
	LogLimit int64
	// Followers run for each bottle this process owns, each in its own
	// goroutine, from when the bottle runs until it ends (their ctx is then
	// cancelled and the teardown waits for them). They are the owner's
	// seam for what must happen in the owning process: review applies
	// operators' decisions to the bottle's live proxy from one.
	Followers []Follower
	// Machine names this machine in the lifecycle events of the bottles
	// this process owns (default ThisMachine()).
	Machine string
}

// Follower is code that lives alongside a bottle in its owner process.
type Follower func(ctx context.Context, b *Bottle)

// Launcher starts bottles and is their owner: it holds each bottle's proxy
// and process until the bottle ends. It is safe for concurrent use.
type Launcher struct {
	cfg Config
	log *slog.Logger

	owner Owner // this process, on this machine

	mu         sync.Mutex
	bottles    map[string]*Bottle
	refreshing bool // refreshLeases runs

	reap      reaper        // the launches' sweeps for crashed owners' leftovers
	ends      chan struct{} // a slot per bottle in the first part of its teardown (maxTeardowns)
	teardowns chan struct{} // a slot per bottle in its host-side cleanup (maxTeardowns)
}

// New returns a Launcher for cfg.
func New(cfg Config) (*Launcher, error) {
	if cfg.Home == "" {
		return nil, errors.New("new launcher: no bot-bottle home")
	}
	if cfg.Planner == nil {
		return nil, errors.New("new launcher: no planner")
	}
	if len(cfg.Backends) == 0 {
		return nil, errors.New("new launcher: no backend")
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.Publisher == nil {
		cfg.Publisher = &events.Memory{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Machine == "" {
		cfg.Machine = ThisMachine()
	}
	owner := Self()
	owner.Machine = cfg.Machine
	return &Launcher{cfg: cfg, log: log, owner: owner, bottles: map[string]*Bottle{},
		ends: make(chan struct{}, maxTeardowns), teardowns: make(chan struct{}, maxTeardowns)}, nil
}

// Options describe one launch.
type Options struct {
	// Name is the bottle (manifest) name in the home; with Agent it may be
	// empty (the agent names its bottle) and must otherwise be that bottle.
	Name string
	// Agent, when set, launches the agent of that name (planner.PlanAgent):
	// the home's, else the one the workdir's repository ships; its bottle
	// comes from the home.
	Agent string
	// Command overrides the provider's command (agent_provider.command, or
	// the template's default).
	Command []string
	// Prompt, when set, runs the provider's agent headless on this prompt
	// (planner.PromptCommand: claude -p, codex exec) instead of Command.
	Prompt string
	// Backend is a Backend's Name; empty means the first backend.
	Backend string
	// Workdir is mounted read-write at its own path and is the command's
	// working directory. It may not contain the host's home or the
	// bot-bottle home.
	Workdir string
	// ReadonlyRoot makes everything but the workdir, the agent's home and
	// temporary folders read-only.
	ReadonlyRoot bool
	// Fresh empties the agent's kept home (AgentHomePath) before the
	// launch: the agent starts with only the plan's files, as on its first
	// launch in this workdir.
	Fresh bool
	// Stdio connects the command to the caller; its output is also teed to
	// the bottle's output.log. Zero Stdio: output to the log only, no
	// stdin.
	Stdio Stdio
	// AgentSurface serves the bottle's MCP socket (reached from inside at
	// BOT_BOTTLE_MCP_URL); BottleID(r.Context()) names the bottle. nil
	// answers 503 "agent surface not available".
	AgentSurface http.Handler
	// OnProxy, when set, is called once the bottle's proxy serves and
	// before its agent surface and command start: the moment to attach
	// what must be ready before the agent can make its first request (the
	// bottle's review owner). An error aborts the launch.
	OnProxy func(*Bottle) error
}

// Backends returns the names of the configured backends, default first.
func (l *Launcher) Backends() []string {
	out := make([]string, len(l.cfg.Backends))
	for i, b := range l.cfg.Backends {
		out[i] = b.Name()
	}
	return out
}

func (l *Launcher) backend(name string) (Backend, error) {
	if name == "" {
		return l.cfg.Backends[0], nil
	}
	for _, b := range l.cfg.Backends {
		if b.Name() == name {
			return b, nil
		}
	}
	return nil, fmt.Errorf("unknown backend %q (have %v)", name, l.Backends())
}

// Get returns the running bottle id if this process owns it. Its Proxy is
// the live proxy that decisions reload.
func (l *Launcher) Get(id string) (*Bottle, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.bottles[id]
	return b, ok
}

// Owned returns the bottles this process owns, sorted by id.
func (l *Launcher) Owned() []*Bottle {
	l.mu.Lock()
	out := make([]*Bottle, 0, len(l.bottles))
	for _, b := range l.bottles {
		out = append(out, b)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Close stops every bottle this process owns and waits until each has
// ended and its host-side cleanup is done; then for a launch's sweep still
// running. The bottles are all asked at once, so their grace periods
// overlap, and their teardowns run maxTeardowns at a time.
//
// The wait is bounded by progress, not by the size of the fleet: Close
// gives up when ctx ends or when no bottle has finished for closeStall (a
// teardown that hangs), and then logs and returns which bottles it left.
// What they hold stays recorded (run folder, cgroups, placeholders), so
// the next owner's cleanup removes it.
func (l *Launcher) Close(ctx context.Context) error {
	return l.closeWithin(ctx, closeStall)
}

// closeStall is how long Close waits without any bottle finishing: longer
// than one bottle's grace period and teardown (StopGrace, teardownTimeout
// and the retries of cgroup and placeholder removal).
const closeStall = DefaultStopGrace + teardownTimeout + 30*time.Second

func (l *Launcher) closeWithin(ctx context.Context, stall time.Duration) error {
	owned := l.Owned()
	for _, b := range owned {
		b.requestStop("stop")
	}
	ended := make(chan *Bottle)
	quit := make(chan struct{})
	defer close(quit)
	for _, b := range owned {
		go func() {
			select {
			case <-b.done:
				select {
				case ended <- b:
				case <-quit:
				}
			case <-quit:
			}
		}()
	}
	left := make(map[string]*Bottle, len(owned))
	for _, b := range owned {
		left[b.ID()] = b
	}
	if stall < l.cfg.StopGrace+teardownTimeout {
		stall = l.cfg.StopGrace + teardownTimeout
	}
	timer := time.NewTimer(stall)
	defer timer.Stop()
	for len(left) > 0 {
		select {
		case b := <-ended:
			delete(left, b.ID())
			timer.Reset(stall)
		case <-timer.C:
			return l.leftBehind(left, fmt.Errorf("no bottle finished tearing down for %s", stall))
		case <-ctx.Done():
			return l.leftBehind(left, ctx.Err())
		}
	}
	l.WaitSweep()
	return nil
}

// leftBehind says which bottles Close stopped waiting for, and why.
func (l *Launcher) leftBehind(left map[string]*Bottle, why error) error {
	ids := slices.Sorted(maps.Keys(left))
	l.log.Warn("gave up waiting for bottles to finish stopping; what they hold stays recorded and `bot-bottle cleanup` removes it",
		"count", len(ids), "bottles", strings.Join(ids, " "), "why", why)
	return fmt.Errorf("stop %d bottles (%s): %w", len(ids), strings.Join(ids, ", "), why)
}

// maxTeardowns bounds the bottles of one process in each part of their
// teardown at once (Bottle.teardown): it is mostly file system work (the
// workdir's sweep, then cgroups, placeholders and the run folder), which
// more of at once than this only queues in the kernel.
const maxTeardowns = 16

// ownedCount is how many bottles this process owns.
func (l *Launcher) ownedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bottles)
}

func (l *Launcher) track(b *Bottle) {
	l.mu.Lock()
	l.bottles[b.ID()] = b
	l.refreshLeases()
	l.mu.Unlock()
}

func (l *Launcher) untrack(b *Bottle) {
	l.mu.Lock()
	mine := l.bottles[b.ID()] == b
	if mine {
		delete(l.bottles, b.ID())
	}
	l.mu.Unlock()
	if mine {
		l.release(b)
	}
}

// flush waits for the publisher to store what it was given, when it can
// say so (events.Bus): a lifecycle change should be in the registry before
// the caller acts on it.
func (l *Launcher) flush(ctx context.Context) {
	if f, ok := l.cfg.Publisher.(interface{ Flush(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := f.Flush(ctx); err != nil {
			l.log.Warn("flush lifecycle events", "err", err)
		}
	}
}
