package sqlite

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// inotifyWatch is how the store watched the bell before the futex, as an
// older process still does: it calls ring whenever path is written (by
// any process). Kept for BenchmarkCrossProcessDelivery's comparison. The
// inotify descriptor is non-blocking, so the runtime's poller parks the
// reading goroutine and Close wakes it.
func inotifyWatch(path string, ring func()) (stop func(), err error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY|unix.IN_ATTRIB); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), "inotify "+path)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Events are only a nudge: their content does not matter, and
		// several writes read at once make one ring.
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			ring()
		}
	}()
	return func() {
		f.Close()
		<-done
	}, nil
}
