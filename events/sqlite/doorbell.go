package sqlite

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bell file's layout. The first 8 bytes are what every version of the
// store has written: the time of the last ring, by pwrite. A process of an
// older version still running (a `launch` owner started before an upgrade
// lives as long as its bottle) watches them with inotify or reads them
// every 50ms, and only a pwrite is seen by both (a store through a mapping
// raises no inotify event), so Ring keeps writing them. The futex word
// follows, 4-byte aligned as the kernel requires. Then the bottle slots:
// a count of the slots ever written, and a ring of bellSlots hashes of the
// bottles commits added events to (see publish), so that a process wakes
// its followers only for commits to bottles it follows. An older version's
// bell is 16 bytes; growBell extends it.
const (
	bellTimeOff  = 0
	bellWordOff  = 8
	bellSeqOff   = 16
	bellSlotsOff = 64
	bellSlots    = 256
	bellSize     = bellSlotsOff + 8*bellSlots
)

// bellPoll is how often a process that cannot map the doorbell reads it.
const bellPoll = 50 * time.Millisecond

// bellSafetyNet bounds each futex wait (nanoseconds). No ring of this
// version is lost (see wait); a ring of an older process is only a pwrite,
// which wakes no futex, and the waiter looks at the time when the wait
// times out. Followers have their own safety net (Options.PollInterval,
// 1s), so a longer bound delays nothing past it, and each timeout costs
// a thread wake-up (about 0.1ms of CPU on the test machine, per store):
// at 1s, 200 idle stores spent over 20 times the CPU they spend at 10s
// (BenchmarkIdleBells). A test sets it to an hour, so that a wake it sees
// came from the futex.
var bellSafetyNet atomic.Int64

func init() { bellSafetyNet.Store(int64(10 * time.Second)) }

// mapBell is mapDoorbell; a test makes it fail, as a filesystem that
// refuses shared mappings does.
var mapBell = mapDoorbell

// watchBell, when a test sets it, watches the bell instead of the futex
// waiter: the inotify watch of before, kept in a test file so that a
// benchmark can compare the two.
var watchBell func(path string, ring func()) (stop func(), err error)

// doorbell is the cross-process wake-up beside the database: a small file
// that every writer rings after each commit and every process waits on.
// The ring, not the commit, is what followers wait for, so the commit is
// always visible by the time they look.
//
// A ring increments a 32-bit word in a shared mapping of the file and
// wakes every futex waiter on it, in any process: the kernel keys a
// shared futex by the file's inode and offset, and it has no per-user
// limit, where inotify instances do (128 on Debian, one per process, so
// past about 128 `launch` owners the rest polled).
type doorbell struct {
	f *os.File
	// mu is held shared by Ring and exclusively by Close while it
	// unmaps: an Append that began before Close may ring after it, and
	// must find the mapping gone rather than fault on it.
	mu    sync.RWMutex
	mem   []byte  // the mapping; nil when polling, or closed
	word  *uint32 // the futex word, in mem
	stamp *uint64 // the time of the last ring, in mem
	seq   *uint64 // how many bottle slots were ever written, in mem
	slots []uint64
	// relevant reports whether this process follows the bottle of a slot's
	// hash: a ring whose new slots it follows none of wakes nobody here.
	relevant func(hash uint64) bool
	// closing tells the waiter to return at its next wake.
	closing atomic.Bool
	// waiterDone is closed when the futex waiter has returned; nil when
	// the bell is polled or watched otherwise.
	waiterDone chan struct{}
	stopWatch  func()
	// watchErr says why this process cannot wait on the bell's futex
	// (a filesystem that refuses shared mappings, a kernel without
	// futexes); it then reads the bell every bellPoll instead, in one
	// goroutine for every follower.
	watchErr error
}

// openDoorbell opens (creating) the bell file at path and starts waiting
// on it, calling ring after every ring by any process. The returned error
// is only about the file itself; see watchErr.
func openDoorbell(path string, ring func(), relevant func(hash uint64) bool) (*doorbell, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open doorbell: %w", err)
	}
	d := &doorbell{f: f, relevant: relevant}
	mem, err := mapBell(f)
	if err != nil {
		d.watchErr = err
		d.stopWatch = pollBell(f, ring)
		return d, nil
	}
	d.mem = mem
	d.word = (*uint32)(unsafe.Pointer(&mem[bellWordOff]))
	d.stamp = (*uint64)(unsafe.Pointer(&mem[bellTimeOff]))
	d.seq = (*uint64)(unsafe.Pointer(&mem[bellSeqOff]))
	d.slots = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[bellSlotsOff])), bellSlots)
	if watchBell != nil {
		if d.stopWatch, err = watchBell(path, ring); err != nil {
			d.unmap()
			f.Close()
			return nil, err
		}
		return d, nil
	}
	done := make(chan struct{})
	d.waiterDone = done
	go d.wait(ring, done)
	d.stopWatch = func() { d.stopWaiter(done) }
	return d, nil
}

// mapDoorbell grows the bell file to bellSize if it is shorter (made by an
// older version, or just created), maps it shared, and checks that the
// kernel takes a futex on the mapping.
func mapDoorbell(f *os.File) ([]byte, error) {
	if err := growBell(f); err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, bellSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map doorbell: %w", err)
	}
	// A wait for a value the word does not hold returns at once (EAGAIN),
	// after the kernel has resolved the futex: this is the check.
	word := (*uint32)(unsafe.Pointer(&mem[bellWordOff]))
	if err := futexWait(word, ^atomic.LoadUint32(word), time.Nanosecond); err != nil && err != unix.EAGAIN && err != unix.ETIMEDOUT {
		unix.Munmap(mem)
		return nil, fmt.Errorf("futex on doorbell: %w", err)
	}
	return mem, nil
}

// growBell extends the file to bellSize when it is shorter, never
// shrinking it. Check and extend are one step under an exclusive flock, so
// an opener that looked at the size before another grew the file (to this
// size, or a later version's larger one) never cuts it back.
func growBell(f *os.File) error {
	fd := int(f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock doorbell: %w", err)
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat doorbell: %w", err)
	}
	if st.Size >= bellSize {
		return nil
	}
	if err := unix.Ftruncate(fd, bellSize); err != nil {
		return fmt.Errorf("grow doorbell: %w", err)
	}
	return nil
}

// Ring tells every waiting process that something was committed. The time
// is written first, for older processes (see the layout), so that a
// waiter woken by the futex finds both changed and rings its followers
// once. A failed write or fault is ignored: the followers' poll still
// finds the event, later.
func (d *doorbell) Ring() {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	_, _ = d.f.WriteAt(b[:], bellTimeOff)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.word != nil {
		_ = noFault(func() {
			atomic.AddUint32(d.word, 1)
			_ = futexWake(d.word)
		})
	}
}

// noFault runs fn, which touches the mapping, and returns whether it
// faulted. A file cut short under the mapping (by hand, or by a process
// that is not bot-bottle) makes the kernel raise SIGBUS on the page past
// its end, which would end the process: every owner of a bottle at once.
// With SetPanicOnFault the fault is a panic of this goroutine, recovered.
func noFault(fn func()) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			faulted = true
		}
	}()
	fn()
	return false
}

// publish writes the hashes of the bottles a commit added events to into
// the next slots, then the count that makes them visible. It runs while
// the committer holds the store's write lock (every process's writers take
// it in turn), after the commit and before the ring: a process that reads
// the count then finds the commit's events, and its slots are written by
// no one else meanwhile.
func (d *doorbell) publish(bottles []string) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.seq == nil || len(bottles) == 0 {
		return
	}
	_ = noFault(func() {
		n := atomic.LoadUint64(d.seq)
		for i, b := range bottles {
			atomic.StoreUint64(&d.slots[(n+uint64(i))%bellSlots], bottleHash(b))
		}
		atomic.StoreUint64(d.seq, n+uint64(len(bottles)))
	})
}

// bottleHash is a bottle's slot value: FNV-1a of its id, never 0 (the
// value of a slot never written). Two bottles with one hash only make a
// process read when it need not.
func bottleHash(bottle string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(bottle))
	return max(h.Sum64(), 1)
}

// Close stops waiting, unmaps and closes the file.
func (d *doorbell) Close() {
	d.stopWatch()
	d.unmap()
	d.f.Close()
}

// unmap removes the mapping once no Ring is using it.
func (d *doorbell) unmap() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mem != nil {
		_ = unix.Munmap(d.mem)
		d.mem, d.word, d.stamp, d.seq, d.slots = nil, nil, nil, nil, nil
	}
}
