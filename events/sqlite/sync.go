package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bot-bottle/bot-bottle/events"
)

// Sync makes every committed event durable; see events.Store. A commit is
// whole in the write-ahead log when Append returns (synchronous=NORMAL);
// an fsync of the log file, which any process may make, puts every commit
// so far on the disk. Events a checkpoint has moved into the database
// file are there already: a checkpoint syncs the file.
func (s *Store) Sync(ctx context.Context) error {
	if s.closed() {
		return events.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sync event store %s: %w", s.path, err)
	}
	f, err := os.Open(s.path + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no log: everything is in the database file
	}
	if err != nil {
		return fmt.Errorf("sync event store %s: %w", s.path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync event store %s: %w", s.path, err)
	}
	return nil
}
