package mcp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// DeskBottles tells a review desk about the bottles of this machine, for
// the evidence beside a proposal: the registry's record, the live proxy of
// a bottle this process owns, and for the others the routes copy their
// owner keeps in the run folder.
type DeskBottles struct {
	// Registry is the shared store's lifecycle record.
	Registry launcher.Registry
	// Owned, when set, finds a bottle this process owns.
	Owned func(id string) (*launcher.Bottle, bool)
}

var _ review.Bottles = DeskBottles{}

// Bottle returns what the registry says of bottle id.
func (d DeskBottles) Bottle(ctx context.Context, id string) (review.BottleInfo, error) {
	in, err := d.lookup(ctx, id)
	if err != nil {
		return review.BottleInfo{}, err
	}
	return review.BottleInfo{ID: in.ID, Name: in.Name, State: in.State, Running: !launcher.Terminal(in.State) && !in.Orphaned,
		Backend: in.Where(), Workdir: in.Workdir, Since: in.Since, StartedBy: startedBy(in.Owner.PID)}, nil
}

// Routes returns bottle id's live table and where it was read.
func (d DeskBottles) Routes(ctx context.Context, id string) (*schemas.RoutesFile, string, error) {
	if d.Owned != nil {
		if b, ok := d.Owned(id); ok {
			return b.Proxy().Routes(), "live", nil
		}
	}
	in, err := d.lookup(ctx, id)
	if err != nil {
		return nil, "", err
	}
	switch {
	case launcher.Terminal(in.State) || in.Orphaned:
		return nil, "", fmt.Errorf("bottle %s is not running (%s): it has no live routes", id, in.State)
	case in.RunDir == "":
		return nil, "", fmt.Errorf("bottle %s has no run folder on record, so no copy of its live routes", id)
	}
	rf, err := readRoutesCopy(launcher.RunDir{Root: in.RunDir})
	if err != nil {
		return nil, "", fmt.Errorf("bottle %s: %w", id, err)
	}
	return rf, "owner", nil
}

func (d DeskBottles) lookup(ctx context.Context, id string) (launcher.Info, error) {
	all, err := launcher.ListRegistry(ctx, d.Registry, true)
	if err != nil {
		return launcher.Info{}, err
	}
	for _, in := range all {
		if in.ID == id {
			return in, nil
		}
	}
	return launcher.Info{}, fmt.Errorf("bottle %q: %w", id, launcher.ErrUnknownBottle)
}

// startedBy names the owner process: "bot-bottle launch (pid 42)", from
// its command line when this machine can read it.
func startedBy(pid int) string {
	if pid <= 0 {
		return "an unknown process"
	}
	who := fmt.Sprintf("pid %d", pid)
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return who
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if len(args) >= 2 {
		name += " " + args[1]
	}
	return fmt.Sprintf("%s (%s)", schemas.AgentText(name).Line(80), who)
}
