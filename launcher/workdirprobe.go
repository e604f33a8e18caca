package launcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// A probe (exclusiveWorkdir) takes a workdir and every folder above it
// exclusively, to learn that no live bottle holds any of them and to keep
// new ones out while it removes placeholders. Two probes of sibling
// workdirs want the same folders above (the parent, /), and flock cannot
// tell a probe from a bottle: the one that loses could only conclude
// "busy" and try again later. So probes never race for a folder:
//   - within a process, a folder one probe holds is shared with the next
//     (heldFolders, counted): the holder's lock already proves what the
//     next one needs, no bottle on that folder, and keeps proving it until
//     the last sharer lets go. The teardowns of one owner then probe and
//     remove in parallel;
//   - between processes of one home, probes take turns on the home's probe
//     lock (probeTurns): a process holds it while any probe of its own
//     runs, so a thousand bottles of one owner ending at once do not queue
//     behind each other, and another owner waits for them as a whole.
// The records themselves are read and written under a lock per workdir
// (withRecord), which is all a launch's createPlaceholders takes.

// heldFolders is this process's exclusive holds on folders, shared by its
// probes. Keyed by path: two paths of one folder get two locks, the second
// of which fails, which is the safe way round (busy, tried again later).
// The map's mutex only finds or makes a folder's entry: the open, flock
// and close of one folder run under that folder's own mutex, so the
// probes of a thousand teardowns do not queue behind each other's system
// calls (under one mutex they spent most of a stop of 200 bottles waiting
// there, each close of a locked folder taking up to a third of a
// millisecond on a busy machine).
var heldFolders = struct {
	sync.Mutex
	m map[string]*sharedHold
}{m: map[string]*sharedHold{}}

// sharedHold is one exclusive flock on a folder and how many probes use it.
// The entry stays in heldFolders while any goroutine refers to it (refs,
// under heldFolders' mutex), so every probe of one folder meets the same
// entry and the process never takes two flocks on one path.
type sharedHold struct {
	mu   sync.Mutex // held while the flock is taken or dropped
	l    *workdirLock
	n    int // probes holding l (under mu)
	refs int // goroutines using the entry (under heldFolders' mutex)
}

// folderHold is one probe's use of a shared hold; release lets go of it.
type folderHold struct {
	dir string
	s   *sharedHold
}

func (h folderHold) release() {
	if h.s == nil {
		return
	}
	h.s.mu.Lock()
	if h.s.n--; h.s.n == 0 {
		h.s.l.release()
		h.s.l = nil
	}
	h.s.mu.Unlock()
	unrefHold(h.dir, h.s)
}

// holdExclusive takes dir exclusively for this process, or shares the hold
// another of its probes has on it.
func holdExclusive(dir string) (folderHold, error) {
	heldFolders.Lock()
	s := heldFolders.m[dir]
	if s == nil {
		s = &sharedHold{}
		heldFolders.m[dir] = s
	}
	s.refs++
	heldFolders.Unlock()
	s.mu.Lock()
	if s.n == 0 {
		l, err := tryFlock(dir, unix.LOCK_EX)
		if err != nil {
			s.mu.Unlock()
			unrefHold(dir, s)
			return folderHold{}, err
		}
		s.l = l
	}
	s.n++
	s.mu.Unlock()
	return folderHold{dir: dir, s: s}, nil
}

// unrefHold ends one goroutine's use of dir's entry, dropping the entry
// with the last.
func unrefHold(dir string, s *sharedHold) {
	heldFolders.Lock()
	defer heldFolders.Unlock()
	if s.refs--; s.refs == 0 {
		delete(heldFolders.m, dir)
	}
}

// probeTurns holds, per home, the home's probe lock while any probe of
// this process runs.
var probeTurns = struct {
	sync.Mutex
	m map[string]*probeTurn
}{m: map[string]*probeTurn{}}

// probeTurn is this process's turn on one home's probe lock.
type probeTurn struct {
	mu sync.Mutex // held while the lock is being taken or let go
	n  int
	f  *os.File
}

// takeProbeTurn waits for this process's turn on home's probe lock, or
// joins the turn it has; the returned func ends this probe's part in it.
func takeProbeTurn(home string) (func(), error) {
	probeTurns.Lock()
	t := probeTurns.m[home]
	if t == nil {
		t = &probeTurn{}
		probeTurns.m[home] = t
	}
	probeTurns.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		f, err := openLockFile(home, ".lock")
		if err != nil {
			return nil, err
		}
		if err := flockRetry(f, unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("placeholders: lock: %w", err)
		}
		t.f = f
	}
	t.n++
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.n--; t.n == 0 {
			_ = t.f.Close() // drops the flock
			t.f = nil
		}
	}, nil
}

// openLockFile opens (creating) the lock file name in home's placeholder
// folder: the probe lock (.lock) or the records lock (recordsLockName).
func openLockFile(home, name string) (*os.File, error) {
	dir := placeholdersDir(home)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("placeholders: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("placeholders: %w", err)
	}
	return f, nil
}

// flockRetry takes how on f (LOCK_NB included or not), retrying a call a
// signal interrupted.
func flockRetry(f *os.File, how int) error { return flockFD(int(f.Fd()), how) }

// flockFD is flockRetry on a bare descriptor.
func flockFD(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// openRetry opens path, retrying a call a signal interrupted (os.OpenFile
// does the same).
func openRetry(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
