package launcher

import (
	"context"
	"fmt"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Running reports whether the registry says bottle id is running (its
// latest state is not terminal) and its owner process is alive (on
// another machine: holds its lease). Any
// process can ask; review's desk asks before publishing a decision, since
// only a live owner can apply one.
func Running(ctx context.Context, reg Registry, id string) (bool, error) {
	evs, err := reg.Latest(ctx, schemas.KindLifecycle)
	if err != nil {
		return false, fmt.Errorf("is bottle %s running: %w", id, err)
	}
	live, err := liveness(ctx, reg)
	if err != nil {
		return false, fmt.Errorf("is bottle %s running: %w", id, err)
	}
	for _, ev := range evs {
		if ev.Bottle != id {
			continue
		}
		in, err := infoFromEvent(ev, live)
		if err != nil {
			return false, fmt.Errorf("is bottle %s running: %w", id, err)
		}
		return !Terminal(in.State) && !in.Orphaned && !in.Lost, nil
	}
	return false, nil
}
