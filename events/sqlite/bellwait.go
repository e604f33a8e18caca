package sqlite

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// wait is the store's one waiter on the bell's futex, for every follower
// of the process: it sleeps in the kernel until a ring, then calls ring.
// It cannot miss a ring of this version: the kernel puts it to sleep only
// if the word still holds the value it last saw, atomically, and a ring
// changes the word before it wakes. The safety-net timeout is for rings of
// older processes, which only write the time. A file cut short under the
// mapping faults (see noFault): it is grown back, and the waiter goes on.
func (d *doorbell) wait(ring func(), done chan<- struct{}) {
	defer close(done)
	var last uint32
	var stamp uint64
	if noFault(func() { last, stamp = atomic.LoadUint32(d.word), atomic.LoadUint64(d.stamp) }) {
		_ = growBell(d.f)
	}
	for !d.closing.Load() {
		changed := false
		// ring runs outside noFault: a fault in it is a bug to crash on,
		// not a bell cut short.
		faulted := noFault(func() {
			err := futexWait(d.word, last, time.Duration(bellSafetyNet.Load()))
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.ETIMEDOUT) && !errors.Is(err, unix.EINTR) {
				// EFAULT (the file cut short), or not expected once the
				// probe in mapDoorbell passed: never spin on it.
				time.Sleep(bellPoll)
			}
			// A torn read of the time (a pwrite racing this load) only
			// makes one extra ring.
			if w, s := atomic.LoadUint32(d.word), atomic.LoadUint64(d.stamp); w != last || s != stamp {
				last, stamp, changed = w, s, true
			}
		})
		if changed {
			ring()
		}
		if faulted {
			// The next opener would grow it too; a follower that waits
			// meanwhile has its poll.
			_ = growBell(d.f)
			time.Sleep(bellPoll)
		}
	}
}

// stopWaiter makes the waiter return and waits until it has, so the
// mapping is not unmapped under it. The wake can come just before the
// waiter goes to sleep (it checked closing, then slept): so it is sent
// again until the waiter is gone. The word is not changed, as a ring would,
// so the other processes' waiters that a wake reaches find nothing new and
// sleep again.
func (d *doorbell) stopWaiter(done <-chan struct{}) {
	d.closing.Store(true)
	for {
		_ = futexWake(d.word)
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// pollBell reads the bell every bellPoll and calls ring when it changed:
// one pread, where a follower's poll would be a query per follower. It is
// the fallback where the bell cannot be mapped or its futex used.
func pollBell(f *os.File, ring func()) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var last, b [8]byte
		_, _ = f.ReadAt(last[:], bellTimeOff)
		tick := time.NewTicker(bellPoll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if _, err := f.ReadAt(b[:], bellTimeOff); err == nil && b != last {
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
