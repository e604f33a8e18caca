package sqlite

import (
	"fmt"
	"os"
)

// doorbell is the cross-process wake-up beside the database: a one-byte
// file that every writer writes after each commit and every process
// watches. The write, not the commit, is what followers wait for, so the
// commit is always visible by the time they look.
type doorbell struct {
	f         *os.File
	stopWatch func()
	// watchErr says why this process cannot watch the bell (no inotify,
	// or its limits reached); followers then poll often instead.
	watchErr error
}

// openDoorbell opens (creating) the bell file at path and starts watching
// it, calling ring on every write by any process. The returned error is
// only about the file itself; see watchErr.
func openDoorbell(path string, ring func()) (*doorbell, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open doorbell: %w", err)
	}
	stop, err := watch(path, ring)
	if err != nil {
		return &doorbell{f: f, stopWatch: func() {}, watchErr: err}, nil
	}
	return &doorbell{f: f, stopWatch: stop}, nil
}

// Ring tells every watching process that something was committed. A failed
// write is ignored: the followers' poll still finds the event, later.
func (d *doorbell) Ring() {
	_, _ = d.f.WriteAt([]byte{1}, 0)
}

// Close stops watching and closes the file.
func (d *doorbell) Close() {
	d.stopWatch()
	d.f.Close()
}
