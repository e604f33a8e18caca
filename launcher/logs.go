package launcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Logs returns up to max bytes (0: all) of the end of a bottle's output:
// while it runs, as its owner tees it into the run folder; after it ended,
// as kept in $BOT_BOTTLE_HOME/logs (the newest KeptLogs bottles).
func (l *Launcher) Logs(ctx context.Context, id string, max int64) ([]byte, error) {
	if why := CheckID(id); why != "" {
		return nil, fmt.Errorf("logs: bottle id %q %s", id, why)
	}
	rd := RunDirOf(l.cfg.Home, id)
	if _, err := os.Stat(rd.Root); errors.Is(err, fs.ErrNotExist) {
		if data, err := readKeptLog(l.cfg.Home, id, max); err == nil {
			return data, nil
		}
		if l.cfg.Registry != nil {
			if in, lerr := l.Lookup(ctx, id); lerr == nil && Terminal(in.State) {
				return nil, fmt.Errorf("logs %s: the bottle has %s and its output is no longer kept (only the newest %d are): %w", id, in.State, KeptLogs, ErrNotRunning)
			}
		}
		return nil, fmt.Errorf("logs %s: %w", id, ErrUnknownBottle)
	}
	return readLog(rd, max)
}
