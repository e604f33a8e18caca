package sqlite

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// wait is the store's one waiter on the bell's futex, for every follower
// of the process: it sleeps in the kernel until a ring, then calls ring
// when the ring may concern a bottle this process follows. It cannot miss
// a ring of this version: the kernel puts it to sleep only if the word
// still holds the value it last saw, atomically, and a ring changes the
// word before it wakes. The safety-net timeout is for rings of older
// processes, which only write the time (and publish no bottles, so they
// always wake the followers). A file cut short under the mapping faults
// (see noFault): it is grown back, and the waiter goes on.
func (d *doorbell) wait(ring func(), done chan<- struct{}) {
	defer close(done)
	var last bellState
	if noFault(func() { last = d.state(0) }) {
		_ = growBell(d.f)
	}
	for !d.closing.Load() {
		var now bellState
		// ring and relevant run outside noFault: a fault in them is a bug
		// to crash on, not a bell cut short.
		faulted := noFault(func() {
			err := futexWait(d.word, last.word, time.Duration(bellSafetyNet.Load()))
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.ETIMEDOUT) && !errors.Is(err, unix.EINTR) {
				// EFAULT (the file cut short), or not expected once the
				// probe in mapDoorbell passed: never spin on it.
				time.Sleep(bellPoll)
			}
			now = d.state(last.seq)
		})
		if !faulted && now.concerns(last, d.relevant) {
			ring()
		}
		if !faulted {
			last = now
		}
		if faulted {
			// The next opener would grow it too; a follower that waits
			// meanwhile has its poll.
			_ = growBell(d.f)
			time.Sleep(bellPoll)
		}
	}
}

// bellState is what the waiter read of the bell at one wake.
type bellState struct {
	word  uint32
	stamp uint64
	seq   uint64
	// fresh are the slots written since the seq given to state, unless
	// there were too many to tell (overflow).
	fresh    []uint64
	overflow bool
}

// state reads the bell, with the slots written after seq since. A slot
// can be overwritten while it is read, once bellSlots more were written:
// the count is read again after the slots, and that case is an overflow.
func (d *doorbell) state(since uint64) bellState {
	st := bellState{word: atomic.LoadUint32(d.word), stamp: atomic.LoadUint64(d.stamp), seq: atomic.LoadUint64(d.seq)}
	n := st.seq - since
	if st.seq < since || n > bellSlots/2 {
		st.overflow = true
		return st
	}
	for i := since; i < st.seq; i++ {
		st.fresh = append(st.fresh, atomic.LoadUint64(&d.slots[i%bellSlots]))
	}
	if atomic.LoadUint64(d.seq)-since > bellSlots {
		st.overflow, st.fresh = true, nil
	}
	return st
}

// concerns reports whether the bell changed since last in a way that may
// concern a follower here: an older writer's ring (the time changed, the
// word and the slots did not: it publishes no bottles), too many commits
// to tell, or a commit to a bottle relevant says this process follows. A
// ring whose slots were read at an earlier wake changed the word only:
// nothing new. Slots read now are judged now whatever the word says: a
// writer publishes them before it rings, so a wake in between (EINTR, a
// timeout) finds them with the word unchanged, and the waiter, which moves
// past them, would otherwise never look at them again.
func (now bellState) concerns(last bellState, relevant func(uint64) bool) bool {
	switch {
	case now.word == last.word && now.stamp == last.stamp && now.seq == last.seq:
		return false // a spurious wake, a timeout, or Close's wake
	case now.overflow || relevant == nil:
		return true
	case now.word == last.word && now.seq == last.seq:
		return true // the time alone: an older writer
	}
	for _, h := range now.fresh {
		if relevant(h) {
			return true
		}
	}
	return false
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
