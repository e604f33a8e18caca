package sqlite

import (
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The futex operations, without FUTEX_PRIVATE_FLAG: the waiters are in
// other processes, and only a shared futex is keyed by the mapped file
// rather than by this process's address space.
const (
	futexWaitOp = 0 // FUTEX_WAIT
	futexWakeOp = 1 // FUTEX_WAKE
)

// futexWait sleeps while *addr holds val, until a wake or timeout. It
// returns EAGAIN when *addr no longer holds val, ETIMEDOUT, or EINTR. The
// calling goroutine's thread blocks in the kernel, as in any syscall.
func futexWait(addr *uint32, val uint32, timeout time.Duration) error {
	ts := unix.NsecToTimespec(int64(timeout))
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// futexWake wakes every waiter on addr, in every process.
func futexWake(addr *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, math.MaxInt32, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
