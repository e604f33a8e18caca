package launcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Logs returns up to max bytes (0: all) of the end of a bottle's output, as
// its owner teed it into the run folder. The output goes with the run folder
// when the bottle ends.
func (l *Launcher) Logs(ctx context.Context, id string, max int64) ([]byte, error) {
	if why := CheckID(id); why != "" {
		return nil, fmt.Errorf("logs: bottle id %q %s", id, why)
	}
	rd := RunDirOf(l.cfg.Home, id)
	if _, err := os.Stat(rd.Root); errors.Is(err, fs.ErrNotExist) {
		if l.cfg.Registry != nil {
			if in, lerr := l.Lookup(ctx, id); lerr == nil && Terminal(in.State) {
				return nil, fmt.Errorf("logs %s: the bottle has %s and its output went with its run folder: %w", id, in.State, ErrNotRunning)
			}
		}
		return nil, fmt.Errorf("logs %s: %w", id, ErrUnknownBottle)
	}
	return readLog(rd, max)
}
