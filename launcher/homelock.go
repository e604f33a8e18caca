package launcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A kept home is one bottle's at a time: two bottles sharing it would
// write the same sessions and history at once, and the local backend's
// overlay of it cannot be shared (overlayfs refuses an upper layer in use,
// or leaves two mounts of it undefined). So the launch that keeps a home
// holds an exclusive lock on a file beside it (never inside, where the
// agent writes) for the bottle's life; a launch that finds it taken runs
// in a home of its own in its run folder, which goes with it.

// homeLock is the lock on a kept home, held by the bottle that keeps it.
type homeLock struct{ f *os.File }

// HomeLockPath is the lock file of the kept home at home: beside it, in
// the kept homes' folder the bottle never sees.
func HomeLockPath(home string) string {
	return filepath.Join(filepath.Dir(home), "."+filepath.Base(home)+".lock")
}

// lockAgentHome takes the kept home at home for bottle id. It returns nil
// and the id of the bottle that holds it when another running bottle does.
// The lock is released when its holder releases it or its process ends, so
// a crashed owner leaves none behind.
func lockAgentHome(home, id string) (lock *homeLock, holder string, err error) {
	if err := os.MkdirAll(filepath.Dir(home), 0o700); err != nil {
		return nil, "", fmt.Errorf("agent home %s: %w", home, err)
	}
	p := HomeLockPath(home)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("agent home %s: lock file: %w", home, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b := make([]byte, 64)
			n, _ := f.ReadAt(b, 0)
			return nil, safeID(string(b[:n])), nil
		}
		return nil, "", fmt.Errorf("agent home %s: lock %s: %w", home, p, err)
	}
	// Who holds it, for the message of a launch that finds it taken.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(id), 0)
	}
	return &homeLock{f: f}, "", nil
}

// release gives the kept home back; nil is released already.
func (l *homeLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Close() // closing the last descriptor drops the flock
		l.f = nil
	}
}

// safeID keeps a holder id read from the lock file fit to print: a bottle
// id's characters only.
func safeID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '.')
	}) >= 0 {
		return ""
	}
	return s
}

// notKeptNotice tells the person that a bottle's home is not kept, and
// why: bottle name's home for this workdir (kept) is held by holder.
func notKeptNotice(name, kept, holder string) string {
	who := "another running bottle"
	if holder != "" {
		who = "bottle " + holder
	}
	return fmt.Sprintf("the agent's home is not kept: %s keeps %s (one %s per workdir at a time), so this one has a fresh home that goes when it ends",
		who, kept, name)
}

// HomeNotice is what the person should know about the agent's home: empty
// when the home is kept (Info.AgentHome), else why it is not.
func (b *Bottle) HomeNotice() string { return b.homeNotice }
