package cli

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/planner"
)

// openStoreToRead opens the home's store for a command that only reads
// it. Without a store there is nothing to read: it returns nil, and
// creates one only when create (a follower waits for what is to come).
func (c *cli) openStoreToRead(create bool) (*sqlite.Store, func(), error) {
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(home, sqlite.FileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !create {
		return nil, nil, nil
	}
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return nil, nil, storeHint(err, path)
	}
	return store, func() { store.Close() }, nil
}
