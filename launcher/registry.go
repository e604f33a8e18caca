package launcher

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Registry is the durable record of bottles and the channel stop requests
// travel on: the launcher writes lifecycle events through an
// events.Publisher and reads them back here. events.Store (and so
// events/sqlite) satisfies it.
//
// Errors: as events.Store's: they name the store and the operation, and
// wrap ctx's error when ctx ends.
type Registry interface {
	// Append stores events at once (see events.Store): a launch records
	// its bottle this way before it starts anything, so that a store
	// that cannot record it refuses the launch.
	Append(ctx context.Context, evs []schemas.Event) ([]schemas.Event, error)
	// Latest returns each bottle's most recent event of kind.
	Latest(ctx context.Context, kind schemas.Kind) ([]schemas.Event, error)
	// Head returns the cursor after bottle's newest event.
	Head(ctx context.Context, bottle string) (events.Cursor, error)
	// Follow replays from a cursor and follows live until ctx ends.
	Follow(ctx context.Context, from events.Cursor, fn func(events.Page) error) error
}

var _ Registry = events.Store(nil)

// Info is what the registry knows about a bottle: its latest lifecycle
// event, and whether its owner still runs.
type Info struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Backend string `json:"backend"`
	// Runtime is the container runtime a docker bottle runs under (runc,
	// runsc); empty for a backend with no choice of runtime.
	Runtime     string    `json:"runtime,omitempty"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"` // when it entered State
	Owner       Owner     `json:"owner"`
	ContainerID string    `json:"container_id,omitempty"`
	RunDir      string    `json:"run_dir,omitempty"`
	Workdir     string    `json:"workdir,omitempty"`
	AgentHome   string    `json:"agent_home,omitempty"` // the kept home (AgentHomePath)
	ExitCode    *int      `json:"exit_code,omitempty"`
	Error       string    `json:"error,omitempty"`
	// Reason says which resource limit the bottle met (schemas.ReasonOOM,
	// schemas.ReasonPidsLimit), Limits how often; Warnings what its
	// backend could not enforce as planned.
	Reason   string             `json:"reason,omitempty"`
	Limits   *schemas.LimitHits `json:"limits,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
	// WorkdirNotices are what the operator must know about the workdir
	// once the bottle ended (Bottle.WorkdirNotices): set on its final
	// state, so that a person who did not launch it learns it too.
	WorkdirNotices []string `json:"workdir_notices,omitempty"`
	// Orphaned reports a bottle whose state is not terminal but whose owner
	// is dead: cleanup will remove what it left.
	Orphaned bool `json:"orphaned,omitempty"`
	// Lost reports a bottle whose state is not terminal, owned on another
	// machine, whose owner stopped refreshing its lease: that machine
	// crashed or is cut off. Only that machine can clean it up; from here
	// it is neither running nor orphaned.
	Lost bool `json:"lost,omitempty"`
	// Unstored reports a bottle whose owner exited leaving events in its
	// spool that are not stored yet (its store was full or broken): the
	// state here is not the last word, and the bottle is not an orphan.
	// The next bot-bottle that opens the store delivers them.
	Unstored string `json:"unstored_events_in,omitempty"`
}

// SpoolRoot is the folder of the spools of a home's control planes
// (events.BusOptions.SpoolDir): the events each could not store before it
// exited, for the next to deliver (events.DeliverSpools).
func SpoolRoot(home string) string { return filepath.Join(home, "spool") }

// SpoolDir is owner o's spool.
func SpoolDir(home string, o Owner) string {
	return filepath.Join(SpoolRoot(home), fmt.Sprintf("%d-%d", o.PID, o.Start))
}

// Where names the backend and, when it has a choice, the runtime a bottle
// runs under: "local", "docker/runc", "docker/runsc".
func (in Info) Where() string {
	if in.Runtime == "" {
		return in.Backend
	}
	return in.Backend + "/" + in.Runtime
}

// Terminal reports whether a lifecycle state is final.
func Terminal(state string) bool { return schemas.TerminalState(state) }

// infoFromEvent decodes a lifecycle event; live tells whether its owner
// lives (liveness).
func infoFromEvent(ev schemas.Event, live func(string, Owner) (alive, lost bool)) (Info, error) {
	var lc schemas.Lifecycle
	if err := ev.Decode(&lc); err != nil {
		return Info{}, err
	}
	in := Info{
		ID: ev.Bottle, Name: lc.Name, Backend: lc.Backend, Runtime: lc.Runtime, State: lc.State, Since: ev.Time,
		Owner:       Owner{PID: lc.Owner, Start: lc.OwnerStart, Machine: lc.Machine},
		ContainerID: lc.ContainerID, RunDir: lc.RunDir, Workdir: lc.Workdir, AgentHome: lc.AgentHome, ExitCode: lc.ExitCode, Error: lc.Error,
		Reason: lc.Reason, Limits: lc.Limits, Warnings: lc.Warnings, WorkdirNotices: lc.WorkdirNotices,
	}
	if !Terminal(in.State) {
		alive, lost := live(ev.Bottle, in.Owner)
		in.Orphaned, in.Lost = !alive && !lost, lost
	}
	return in, nil
}

// lifecycle is the payload that records in the registry.
func (in Info) lifecycle() schemas.Lifecycle {
	return schemas.Lifecycle{
		State: in.State, Name: in.Name, Backend: in.Backend, Runtime: in.Runtime, ExitCode: in.ExitCode, Error: in.Error,
		Owner: in.Owner.PID, OwnerStart: in.Owner.Start, Machine: in.Owner.Machine, ContainerID: in.ContainerID, RunDir: in.RunDir, Workdir: in.Workdir,
		AgentHome: in.AgentHome, Reason: in.Reason, Limits: in.Limits, Warnings: in.Warnings, WorkdirNotices: in.WorkdirNotices,
	}
}

// List returns every bottle whose latest state is not terminal (running,
// starting, stopping, and orphans), sorted by id; with all, the ended ones
// too.
func (l *Launcher) List(ctx context.Context, all bool) ([]Info, error) {
	if l.cfg.Registry == nil {
		return nil, fmt.Errorf("list bottles: no registry")
	}
	return listRegistry(ctx, l.cfg.Registry, l.cfg.Home, all, l.log)
}

// ListRegistry is List for a process that owns no launcher (shell
// completion, a reader of the store): the bottles reg records.
func ListRegistry(ctx context.Context, reg Registry, all bool) ([]Info, error) {
	return listRegistry(ctx, reg, "", all, slog.New(slog.DiscardHandler))
}

// listRegistry lists reg; with home, a bottle whose dead owner left a spool
// there is unconfirmed rather than orphaned.
func listRegistry(ctx context.Context, reg Registry, home string, all bool, log *slog.Logger) ([]Info, error) {
	evs, err := reg.Latest(ctx, schemas.KindLifecycle)
	if err != nil {
		return nil, fmt.Errorf("list bottles: %w", err)
	}
	live, err := liveness(ctx, reg)
	if err != nil {
		return nil, fmt.Errorf("list bottles: %w", err)
	}
	live = oncePerOwner(live)
	out := make([]Info, 0, len(evs))
	for _, ev := range evs {
		if !all && endedEvent(ev) {
			continue
		}
		in, err := infoFromEvent(ev, live)
		if err != nil {
			log.Warn("skipping an unreadable lifecycle event", "bottle", ev.Bottle, "err", err)
			continue
		}
		if dir := SpoolDir(home, in.Owner); home != "" && in.Orphaned && events.SpoolPending(dir) {
			// Its end is most likely in the spool: never take it for
			// an orphan (cleanup would record it as failed).
			in.Orphaned, in.Unstored = false, dir
		}
		if all || !Terminal(in.State) {
			out = append(out, in)
		}
	}
	// Newest first, as docker ps and kubectl get by age read.
	slices.SortStableFunc(out, func(a, b Info) int {
		if c := b.Since.Compare(a.Since); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// oncePerOwner asks live once per owner: the bottles of one listing share
// a few owners (one serve owns a thousand), and each ask reads /proc.
func oncePerOwner(live func(string, Owner) (bool, bool)) func(string, Owner) (bool, bool) {
	type answer struct{ alive, lost bool }
	seen := map[Owner]answer{}
	return func(id string, o Owner) (bool, bool) {
		if o.remote() {
			return live(id, o) // by the bottle's own lease
		}
		a, ok := seen[o]
		if !ok {
			a.alive, a.lost = live(id, o)
			seen[o] = a
		}
		return a.alive, a.lost
	}
}

// endedEvent reports whether a lifecycle event records a terminal state,
// reading only its state: a listing of the live bottles skips the ended
// ones, which pile up, without decoding them whole.
func endedEvent(ev schemas.Event) bool {
	var st struct {
		State string `json:"state"`
	}
	return ev.Decode(&st) == nil && Terminal(st.State)
}

// Lookup returns the registry's record of bottle id.
func (l *Launcher) Lookup(ctx context.Context, id string) (Info, error) {
	if why := CheckID(id); why != "" {
		return Info{}, fmt.Errorf("bottle id %q %s", id, why)
	}
	all, err := l.List(ctx, true)
	if err != nil {
		return Info{}, err
	}
	for _, in := range all {
		if in.ID == id {
			return in, nil
		}
	}
	return Info{}, fmt.Errorf("bottle %q: %w", id, ErrUnknownBottle)
}
