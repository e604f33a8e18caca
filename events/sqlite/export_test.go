package sqlite

import (
	"errors"
	"os"
	"time"
)

// BellSize is the size of the bell file this version makes.
const BellSize = bellSize

// TailReads is how many reads the store's tail has made.
func TailReads(s *Store) uint64 { return s.tailReads.Load() }

// FollowReads is how many reads the store's followers have made.
func FollowReads(s *Store) uint64 { return s.followReads.Load() }

// SetBellSafetyNet bounds the bell waiter's futex waits by d (an hour: a
// follower woken in a test was woken by the futex) and returns the undo.
func SetBellSafetyNet(d time.Duration) (undo func()) {
	old := bellSafetyNet.Swap(int64(d))
	return func() { bellSafetyNet.Store(old) }
}

// WatchBellWithInotify makes the stores opened until undo watch the bell
// with inotify, as the store did before the futex, and as an older
// process still does.
func WatchBellWithInotify() (undo func()) {
	watchBell = inotifyWatch
	return func() { watchBell = nil }
}

// RefuseBellMapping makes the stores opened until undo fail to map the
// bell, as on a filesystem that refuses shared mappings: they poll it.
func RefuseBellMapping() (undo func()) {
	mapBell = func(*os.File) ([]byte, error) { return nil, errors.New("map doorbell: no such device") }
	return func() { mapBell = mapDoorbell }
}

// BellWatchErr is why the store polls the bell, nil when it waits on its
// futex.
func BellWatchErr(s *Store) error { return s.door.watchErr }

// BellWaiterRunning reports whether s has a futex waiter that has not
// returned.
func BellWaiterRunning(s *Store) bool {
	done := s.door.waiterDone
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}
