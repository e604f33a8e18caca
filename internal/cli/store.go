package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
)

// ownerSpoolReserve is the disk a long-lived control plane (launch,
// serve) sets aside for the events it may not be able to store before it
// exits: about 2,000 events, and only while it runs.
const ownerSpoolReserve = 1 << 20

// openStore opens the home's store as every command does: it warns when
// the disk is nearly full (the store may then stop taking events for
// good), and delivers what control planes that exited before they could
// store their events left in their spools, so that the registry is whole
// before anyone reads it.
func (c *cli) openStore(home string, opts sqlite.Options) (*sqlite.Store, error) {
	path := filepath.Join(home, sqlite.FileName)
	if free, err := sqlite.FreeSpace(path); err == nil && free < sqlite.MinFreeSpace {
		fmt.Fprintf(c.stderr, "bot-bottle: warning: only %s free on the disk of %s; the event store needs about %s for its write-ahead log, and on a fuller disk it can stop recording events for good: free space, or set BOT_BOTTLE_HOME to a folder on a larger disk\n",
			sqlite.MiB(free), home, sqlite.MiB(sqlite.MinFreeSpace))
	}
	store, err := sqlite.Open(path, opts)
	if err != nil {
		return nil, storeHint(err, path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := events.DeliverSpools(ctx, store, launcher.SpoolRoot(home))
	if n > 0 {
		fmt.Fprintf(c.stderr, "bot-bottle: stored %d events that an exited bot-bottle could not store (from %s)\n", n, launcher.SpoolRoot(home))
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "bot-bottle: warning: events spooled by an exited bot-bottle are not stored yet: %v\n", err)
	}
	return store, nil
}

// openStoreToRead opens the home's store for a command that only reads
// it. Without a store there is nothing to read: it returns nil, and
// creates one only when create (a follower waits for what is to come).
func (c *cli) openStoreToRead(create bool) (*sqlite.Store, func(), error) {
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(home, sqlite.FileName)); errors.Is(err, os.ErrNotExist) && !create {
		return nil, nil, nil
	}
	store, err := c.openStore(home, sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	return store, func() { store.Close() }, nil
}

// closeBus stores what bus still holds and says what it could not: how
// many events went to the spool (and that the next bot-bottle delivers
// them), or were lost. It returns the error when events were lost.
func (c *cli) closeBus(bus *events.Bus, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := bus.Close(ctx)
	var unstored *events.UnstoredError
	if !errors.As(err, &unstored) {
		return nil
	}
	fmt.Fprintf(c.stderr, "bot-bottle: %v\n", err)
	if unstored.Lost > 0 {
		return err
	}
	return nil
}

// storeHint says what to do about a store that will not open or cannot
// record.
func storeHint(err error, path string) error {
	switch {
	case errors.Is(err, sqlite.ErrLocked):
		return withHint(err, "another process holds it; find it with: fuser "+path+" "+path+"-lock")
	case errors.Is(err, sqlite.ErrCorrupt):
		return withHint(err, "nothing was written to it; "+sqlite.MoveAside(path)+"; bot-bottle doctor checks a store")
	case errors.Is(err, sqlite.ErrFull):
		return withHint(err, "free space on the disk of "+filepath.Dir(path)+", or set BOT_BOTTLE_HOME to a folder on a larger disk")
	}
	return err
}
