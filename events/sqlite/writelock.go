package sqlite

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// writeQueue is where every writer of one database file waits its turn,
// across processes: an exclusive flock on a file beside the database
// (state.db-lock), taken before BEGIN IMMEDIATE and released after COMMIT.
//
// SQLite's own lock is not a queue. A writer that finds it taken sleeps
// (1, 2, 5 ... 100 ms) and tries again, so with a hundred processes the one
// that wins is the one whose sleep happens to end at the right moment, and
// a writer can lose every race until its busy timeout passes (SQLITE_BUSY:
// "database is locked"). The pollers also take the CPU that the lock's
// holder needs to finish. A process blocked in flock sleeps in the kernel
// until the lock is free and is woken at once: writers queue.
//
// flock belongs to an open file description, so two goroutines of one
// Store would both "hold" it; slot makes them take turns first.
//
// Each writer that gets the lock adds one to a counter in the lock file, so
// that a waiter can tell a queue that moves (the counter grows) from one
// that is stuck behind a writer that never finishes. On a loaded machine
// the lock is often free between two writers (the next one waits for a
// CPU), so who holds it at a given moment says little.
type writeQueue struct {
	path string
	f    *os.File
	slot chan struct{}
}

func openWriteQueue(path string) (*writeQueue, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open write lock: %w", err)
	}
	return &writeQueue{path: path, f: f, slot: make(chan struct{}, 1)}, nil
}

// lock waits for this process's and then every other process's writers
// to be done, and returns the function that lets the next one in. It waits
// as long as the queue moves: it fails with ErrLocked, naming the holder,
// only when one holder keeps the lock for wait (a stopped or stuck
// process), or when ctx ends. A burst of writers on a loaded machine
// makes the queue long, not broken.
func (q *writeQueue) lock(ctx context.Context, wait time.Duration) (func(), error) {
	select {
	case q.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	fd := int(q.f.Fd())
	unlock := func() {
		_ = unix.Flock(fd, unix.LOCK_UN)
		<-q.slot
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		q.bump()
		return unlock, nil
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		<-q.slot
		return nil, fmt.Errorf("lock %s: %w", q.path, err)
	}
	got := make(chan error, 1)
	go func() { got <- flockWait(fd) }()
	// The counter is sampled every so often; growth is progress.
	tick := time.NewTicker(min(wait, 250*time.Millisecond))
	defer tick.Stop()
	gen, since := q.generation(), time.Now()
	for {
		select {
		case err := <-got:
			if err != nil {
				<-q.slot
				return nil, fmt.Errorf("lock %s: %w", q.path, err)
			}
			q.bump()
			return unlock, nil
		case <-ctx.Done():
			q.abandon(got, unlock)
			return nil, ctx.Err()
		case <-tick.C:
			if now := q.generation(); now != gen {
				gen, since = now, time.Now()
				continue
			}
			if time.Since(since) < wait {
				continue
			}
			held := "another process holds " + q.path
			if pids := lockHolders(q.path); len(pids) > 0 {
				held = "held by pid " + strings.Join(pids, ", ") + " (" + q.path + ")"
			}
			q.abandon(got, unlock)
			return nil, fmt.Errorf("%w: the writer before this one has not finished in %v; %s", ErrLocked, wait, held)
		}
	}
}

// generation reads the counter of writers let in.
func (q *writeQueue) generation() uint64 {
	var b [8]byte
	if _, err := q.f.ReadAt(b[:], 0); err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}

// bump counts this writer in; it holds the lock, so the add is exact.
func (q *writeQueue) bump() {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], q.generation()+1)
	_, _ = q.f.WriteAt(b[:], 0)
}

// abandon lets a blocked flock finish on its own and hands the lock on at
// once when it does: a blocking flock cannot be interrupted.
func (q *writeQueue) abandon(got <-chan error, unlock func()) {
	go func() {
		if <-got == nil {
			q.bump()
			unlock()
			return
		}
		<-q.slot
	}()
}

func flockWait(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func (q *writeQueue) close() { q.f.Close() }

// lockHolders returns the pids holding a flock on path, from /proc/locks,
// for the error a person reads; none when it cannot tell.
func lockHolders(path string) []string {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return nil
	}
	defer f.Close()
	// "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; the lines of
	// blocked waiters read "1: -> FLOCK ..." and are skipped.
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino) //nolint:unconvert // Dev is int32 on darwin
	var pids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		if _, err := strconv.Atoi(fields[4]); err == nil && fields[5] == want {
			pids = append(pids, fields[4])
		}
	}
	return pids
}
