package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/gitgate"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Defaults for the waits a Control imposes.
const (
	// DefaultAgentWait is how long request_egress waits for a decision
	// before it answers pending. It stays under the 60 s tool timeout
	// Codex applies by default, so the agent gets an answer, not a timeout.
	DefaultAgentWait = 50 * time.Second
	// MaxAgentWait bounds proposal_status's wait_seconds for the same
	// reason a client's own timeout would: a call should return (unless
	// the owner's AgentWait is longer).
	MaxAgentWait = 5 * time.Minute
	// DefaultDecideWait is how long egress_decide waits for the bottle's
	// owner to apply a decision.
	DefaultDecideWait = 30 * time.Second
	// DefaultAgentInflight is Config.AgentInflight's default.
	DefaultAgentInflight = 16
)

// Config is what a Control works with. The CLI builds it once per process
// (bot-bottle serve, bot-bottle launch).
type Config struct {
	// Planner plans bottles from the home; bottle_plan and persist use it.
	Planner *planner.Planner
	// DockerRuntime, when set, is bottle_plan's planner.Planner
	// DockerRuntime: the plan then says which runtime a docker bottle
	// gets on this host.
	DockerRuntime func(requested string) (string, error)
	// Channel is the shared event channel (an *events.Bus): owners publish
	// proposals and applied decisions on it, the desk and the operator
	// surface follow its store.
	Channel review.Channel
	// Launcher starts the bottles this process owns and reads the registry
	// for the others.
	Launcher *launcher.Launcher
	// Version is the bot-bottle version both surfaces report to their
	// clients (DefaultVersion when empty).
	Version string
	// WorkDir is bottle_launch's workdir when the caller names none.
	WorkDir string
	// AgentWait is request_egress's wait (default DefaultAgentWait).
	AgentWait time.Duration
	// DecideWait is egress_decide's wait (default DefaultDecideWait).
	DecideWait time.Duration
	// Limits bound each owned bottle's proposals (review's defaults when
	// zero).
	Limits review.Limits
	// AgentInflight bounds the agent-surface requests one bottle may have
	// in flight (default DefaultAgentInflight): each waiting
	// request_egress or proposal_status holds a connection and a
	// goroutine in this process.
	AgentInflight int
	// Logger receives operational logs, never a secret; nil discards.
	Logger *slog.Logger
}

// Control is the glue between the CLI, the MCP surfaces, the launcher and
// review. For every bottle it launches it runs the bottle's review owner,
// started before the bottle's command, and serves the bottle's agent
// surface; for every bottle of the machine it offers the review desk.
type Control struct {
	cfg   Config
	log   *slog.Logger
	desk  *review.Desk
	agent http.Handler

	mu     sync.Mutex
	owners map[string]*ownedBottle
	closed bool
	wg     sync.WaitGroup
}

// ownedBottle is a bottle this process launched and the review owner that
// applies decisions to its live proxy.
type ownedBottle struct {
	bottle *launcher.Bottle
	owner  *review.Owner
	stop   context.CancelFunc
}

// NewControl returns a Control for cfg.
func NewControl(cfg Config) (*Control, error) {
	switch {
	case cfg.Planner == nil:
		return nil, errors.New("new mcp control: no planner")
	case cfg.Channel == nil:
		return nil, errors.New("new mcp control: no event channel")
	case cfg.Launcher == nil:
		return nil, errors.New("new mcp control: no launcher")
	}
	if cfg.AgentWait <= 0 {
		cfg.AgentWait = DefaultAgentWait
	}
	if cfg.DecideWait <= 0 {
		cfg.DecideWait = DefaultDecideWait
	}
	if cfg.AgentInflight <= 0 {
		cfg.AgentInflight = DefaultAgentInflight
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Control{cfg: cfg, log: log, owners: map[string]*ownedBottle{}}
	c.desk = review.NewDesk(review.DeskConfig{Channel: cfg.Channel, Running: c.running, Logger: log,
		Bottles: DeskBottles{Registry: cfg.Channel.Store(), Owned: cfg.Launcher.Get}})
	c.agent = newAgentSurface(c)
	return c, nil
}

// Desk is the operator's review desk: proposals of every bottle, and
// decisions published on the channel for their owners to apply.
func (c *Control) Desk() *review.Desk { return c.desk }

// Store is the shared channel's durable store, for readers (the review
// page, the CLI): every process's events are in it.
func (c *Control) Store() events.Store { return c.cfg.Channel.Store() }

// Launcher returns the launcher the Control was built with.
func (c *Control) Launcher() *launcher.Launcher { return c.cfg.Launcher }

// AgentSurface is the handler every bottle this process launches serves on
// its MCP socket. It finds its bottle with launcher.BottleID.
func (c *Control) AgentSurface() http.Handler { return c.agent }

// Owner returns the review owner of bottle id if this process owns it.
func (c *Control) Owner(id string) (*review.Owner, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ob, ok := c.owners[id]
	if !ok {
		return nil, false
	}
	return ob.owner, true
}

// Launch launches a bottle owned by this process, with its agent surface
// and its review owner: the owner follows the channel before the bottle's
// command starts, so no request the agent makes can go unanswered. The
// bottle lives on after ctx ends; stop it with its Stop or the launcher.
func (c *Control) Launch(ctx context.Context, o launcher.Options) (*launcher.Bottle, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, errors.New("launch: the control plane is shutting down")
	}
	o.AgentSurface = c.agent
	o.OnProxy = c.adopt
	return c.cfg.Launcher.Launch(context.WithoutCancel(ctx), o)
}

// adopt is the launcher's OnProxy hook: it records the plan and the live
// table in the run folder for other processes, and starts the bottle's
// review owner.
func (c *Control) adopt(b *launcher.Bottle) error {
	rd := launcher.RunDir{Root: b.Info().RunDir}
	if err := writePlanCopy(rd, b.Plan()); err != nil {
		return err
	}
	if err := writeRoutesCopy(rd, b.Proxy().Routes()); err != nil {
		return err
	}
	id := b.ID()
	// The desk tells a person until when the agent waits: no longer than
	// its agent CLI waits for a tool call (request_egress is bounded the
	// same way).
	agentWait := c.cfg.AgentWait
	if p := b.Plan(); p.Provider != nil {
		if limit := planner.ToolCallWait(p.Provider.Template); limit > 0 {
			agentWait = min(agentWait, limit)
		}
	}
	owner := review.NewOwner(review.OwnerConfig{
		Bottle: id, Manifest: b.Plan().Bottle, Proxy: b.Proxy(), Channel: c.cfg.Channel,
		Planner: c.cfg.Planner, Limits: c.cfg.Limits, AgentWait: agentWait, Logger: c.log,
		OnReload: func(rf *schemas.RoutesFile) {
			if err := writeRoutesCopy(rd, rf); err != nil {
				c.log.Warn("keep the run folder's routes copy", "bottle", id, "err", err)
			}
		},
	})
	// The owner's cursor is fixed before the agent's command starts, so no
	// decision can slip in before the owner follows.
	if err := owner.Begin(context.Background()); err != nil {
		return err
	}
	// Requests the proxy's DLP holds (route policy supervise) become
	// release proposals on the desk.
	b.Proxy().SetSupervisor(supervisor{owner})
	// Pushes the git gate refuses for their secrets become push
	// proposals on the same desk.
	if g := b.Gate(); g != nil {
		g.SetSupervisor(owner)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return errors.New("the control plane is shutting down")
	}
	c.owners[id] = &ownedBottle{bottle: b, owner: owner, stop: cancel}
	c.wg.Add(2)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		if err := owner.Run(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("review owner stopped following the channel; decisions for this bottle wait until it runs again",
				"bottle", id, "err", err)
		}
	}()
	go func() {
		defer c.wg.Done()
		select {
		case <-b.Done():
		case <-ctx.Done():
		}
		cancel()
		select {
		case <-b.Done():
			// The bottle ended: its pending proposals expire now, from
			// the owner, rather than when another process notices.
			in := b.Info()
			owner.End(review.EndingOf(in.Since, schemas.Lifecycle{State: in.State, ExitCode: in.ExitCode, Error: in.Error}))
		default: // this process is closing with the bottle still running
		}
		c.mu.Lock()
		if ob := c.owners[id]; ob != nil && ob.owner == owner {
			delete(c.owners, id)
		}
		c.mu.Unlock()
	}()
	return nil
}

var _ gitgate.Supervisor = (*review.Owner)(nil)

// supervisor lets a bottle's review owner decide the requests its proxy
// holds.
type supervisor struct{ owner *review.Owner }

func (s supervisor) Hold(ctx context.Context, rel schemas.Release) egressproxy.HoldOutcome {
	out := s.owner.Hold(ctx, rel)
	return egressproxy.HoldOutcome{Released: out.Released, TimedOut: out.TimedOut, Notes: out.Notes}
}

// running reports whether bottle runs and its owner is alive: the desk
// refuses decisions for any other bottle.
func (c *Control) running(ctx context.Context, bottle string) (bool, error) {
	if _, ok := c.cfg.Launcher.Get(bottle); ok {
		return true, nil
	}
	in, err := c.cfg.Launcher.Lookup(ctx, bottle)
	if errors.Is(err, launcher.ErrUnknownBottle) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !launcher.Terminal(in.State) && !in.Orphaned, nil
}

// Close stops every review owner (the bottles themselves are the
// launcher's: close it first to stop them) and waits for them.
func (c *Control) Close() {
	c.mu.Lock()
	c.closed = true
	for _, ob := range c.owners {
		ob.stop()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// bottleInfo is what the operator surface knows of a bottle: its registry
// record, and the bottle itself when this process owns it.
func (c *Control) bottleInfo(ctx context.Context, id string) (launcher.Info, *launcher.Bottle, error) {
	if why := launcher.CheckID(id); why != "" {
		return launcher.Info{}, nil, fmt.Errorf("bottle id %q %s", id, why)
	}
	if b, ok := c.cfg.Launcher.Get(id); ok {
		return b.Info(), b, nil
	}
	in, err := c.cfg.Launcher.Lookup(ctx, id)
	return in, nil, err
}

// version is what the surfaces report as the server's version.
func (c *Control) version() string {
	if c.cfg.Version != "" {
		return c.cfg.Version
	}
	return DefaultVersion
}
