package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// A bottle holds a shared flock on its workdir for its whole life, and
// placeholders are removed only by whoever gets the workdir and every
// folder above it exclusively. Removing a folder that another bottle has
// mounted something on detaches that mount in the other bottle (the kernel
// lets a path be removed from a namespace where it is no mount point), so a
// placeholder must outlive every bottle that may be holding a path with it:
// one on the same workdir, or one on a folder above, whose nested scan may
// have found it. A lock dies with its process, so a crashed owner releases
// its workdir at once and cleanup can finish its work.

// lockPoll is how often a launch retries a workdir whose placeholders a
// teardown is removing.
const lockPoll = 20 * time.Millisecond

// lockWait bounds how long a launch waits for another bottle's teardown to
// finish with the workdir.
const lockWait = 30 * time.Second

// workdirLock is one flock on a folder.
type workdirLock struct{ f *os.File }

// lockWorkdir takes the bottle's shared hold on workdir, waiting while
// another bottle's teardown holds it exclusively.
func lockWorkdir(ctx context.Context, workdir string) (*workdirLock, error) {
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	for {
		l, err := tryFlock(workdir, unix.LOCK_SH)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock workdir %s: %w", workdir, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock workdir %s: another bottle's teardown holds it: %w", workdir, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// tryFlock opens dir and takes how on it without waiting.
func tryFlock(dir string, how int) (*workdirLock, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &workdirLock{f: f}, nil
}

// release drops the lock; a nil lock is a no-op.
func (l *workdirLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// exclusiveWorkdir takes workdir and every folder above it exclusively,
// which succeeds only when no live bottle holds any of them. The caller
// holds the placeholder records' lock (withRecords), so no other probe of
// this home runs at the same time: a workdir that cannot be taken is held
// by a live bottle, and that is the answer (a sweep of a home with many
// live bottles must not wait on each). A folder above that cannot be taken
// may be a probe of another home passing by, or a bottle on that folder:
// busy says so, and the caller tries again a little later, outside the
// records' lock.
func exclusiveWorkdir(workdir string) (held []*workdirLock, ok, busy bool) {
	for d := workdir; ; d = filepath.Dir(d) {
		l, err := tryFlock(d, unix.LOCK_EX)
		switch {
		case err == nil:
			held = append(held, l)
		case d == workdir: // held by a bottle, or the workdir is gone
			releaseAll(held)
			return nil, false, false
		case errors.Is(err, unix.EWOULDBLOCK):
			releaseAll(held)
			return nil, false, true
		} // a folder above that cannot be opened holds no bottle
		if d == filepath.Dir(d) {
			return held, true, false
		}
	}
}

func releaseAll(ls []*workdirLock) {
	for _, l := range ls {
		l.release()
	}
}
