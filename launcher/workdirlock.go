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
// placeholders are removed only by whoever gets the workdir, every folder
// above it and every folder between it and the placeholder exclusively.
// Removing a folder that another bottle has mounted something on detaches
// that mount in the other bottle (the kernel lets a path be removed from a
// namespace where it is no mount point), so a placeholder must outlive
// every bottle that may be holding a path with it: one on the same
// workdir; one on a folder above, whose nested scan may have found it; one
// on a folder below, inside a nested repository, whose launch found the
// placeholder there and mounted it. A placeholder such a bottle stands on
// stays recorded, for the cleanup after it. A lock dies with its process,
// so a crashed owner releases its workdir at once and cleanup can finish
// its work. How probes share the folders above: workdirprobe.go.

// lockPoll is how often a launch retries a workdir whose placeholders a
// teardown is removing.
const lockPoll = 20 * time.Millisecond

// lockWait bounds how long a launch waits for another bottle's teardown to
// finish with the workdir.
const lockWait = 30 * time.Second

// workdirLock is one flock on a folder, held by a bare descriptor: a
// folder cannot be polled, and an os.File would try (four more system
// calls for each of the thousands of folders a stop of many bottles locks).
type workdirLock struct{ fd int }

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
	fd, err := openRetry(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := flockFD(fd, how|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &workdirLock{fd: fd}, nil
}

// release drops the lock; a nil lock is a no-op.
func (l *workdirLock) release() {
	if l != nil && l.fd >= 0 {
		_ = unix.Close(l.fd) // the only descriptor: the flock goes with it
		l.fd = -1
	}
}

// exclusiveWorkdir takes workdir and every folder above it exclusively,
// which succeeds only when no live bottle holds any of them. The caller
// has its turn on the home's probe lock (takeProbeTurn), and the probes of
// this process share their holds (holdExclusive), so no other probe of
// this home competes for these folders: a workdir that cannot be taken is
// held by a live bottle, and that is the answer (a sweep of a home with
// many live bottles must not wait on each). A folder above that cannot be
// taken may be a probe of another home passing by, or a bottle on that
// folder: busy says so, and the caller tries again a little later.
func exclusiveWorkdir(workdir string) (held []folderHold, ok, busy bool) {
	for d := workdir; ; d = filepath.Dir(d) {
		if d == filepath.Dir(d) && d != workdir {
			// The root is never a workdir (checkWorkdir refuses it), so no
			// bottle holds it; locking it would only make the probes of
			// every home on the machine wait for each other.
			return held, true, false
		}
		h, err := holdExclusive(d)
		switch {
		case err == nil:
			held = append(held, h)
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

func releaseAll(hs []folderHold) {
	for _, h := range hs {
		h.release()
	}
}
