package sqlite

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// bellPoll is how often a process that cannot watch the doorbell reads it.
const bellPoll = 50 * time.Millisecond

// watchBell is watch; a test makes it fail, as a spent inotify limit does.
var watchBell = watch

// doorbell is the cross-process wake-up beside the database: a small file
// that every writer writes after each commit and every process watches.
// The write, not the commit, is what followers wait for, so the commit is
// always visible by the time they look.
type doorbell struct {
	f         *os.File
	stopWatch func()
	// watchErr says why this process cannot watch the bell with inotify
	// (none on this platform, or the limit of inotify instances reached,
	// as a hundred parallel launches do); it then reads the bell every
	// bellPoll instead, in one goroutine for every follower.
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
	stop, err := watchBell(path, ring)
	if err != nil {
		return &doorbell{f: f, stopWatch: pollBell(f, ring), watchErr: err}, nil
	}
	return &doorbell{f: f, stopWatch: stop}, nil
}

// Ring tells every watching process that something was committed. Each
// ring writes a new value (the time), so that a process reading the bell
// sees a change even when two rings fall in one tick of the file's mtime.
// A failed write is ignored: the followers' poll still finds the event,
// later.
func (d *doorbell) Ring() {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	_, _ = d.f.WriteAt(b[:], 0)
}

// pollBell reads the bell every bellPoll and calls ring when it changed:
// one pread, where a follower's poll would be a query per follower.
func pollBell(f *os.File, ring func()) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var last, b [8]byte
		_, _ = f.ReadAt(last[:], 0)
		tick := time.NewTicker(bellPoll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if _, err := f.ReadAt(b[:], 0); err == nil && b != last {
				last = b
				ring()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// Close stops watching and closes the file.
func (d *doorbell) Close() {
	d.stopWatch()
	d.f.Close()
}
