package egressproxy

import (
	"sync"
	"time"
)

// coalescer gathers the small writes goproxy makes for one response inside
// a MITM'd tunnel (its head, then each body chunk, each a TLS record) into
// one write to the socket, as net/http's own server does with its buffered
// writer: a syscall and a TCP segment fewer for every response, on the
// proxy and on the client. Nothing waits long: the buffer is flushed before
// the connection reads (the proxy then waits on the client), before each
// further read of the upstream body (the proxy may then wait on the
// upstream), when a response ends, when it grows past coalesceMax, and at
// the latest coalesceDelay after its first byte.
type coalescer struct {
	mu    sync.Mutex
	buf   []byte
	err   error // a failed flush, reported by the next write
	timer *time.Timer
	write func([]byte) (int, error)
	off   bool
}

const (
	coalesceMax   = 16 << 10
	coalesceDelay = time.Millisecond
)

func (w *coalescer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.off {
		return w.write(p)
	}
	if len(w.buf) == 0 {
		if w.timer == nil {
			w.timer = time.AfterFunc(coalesceDelay, func() { _ = w.Flush() })
		} else {
			w.timer.Reset(coalesceDelay)
		}
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= coalesceMax {
		return len(p), w.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (w *coalescer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *coalescer) flushLocked() error {
	if len(w.buf) == 0 || w.err != nil {
		return w.err
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	_, err := w.write(w.buf)
	w.buf = w.buf[:0]
	if cap(w.buf) > 2*coalesceMax {
		w.buf = nil
	}
	w.err = err
	return err
}

// stop flushes and writes straight through from now on (a tunnel that no
// longer carries HTTP responses, such as a WebSocket).
func (w *coalescer) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.flushLocked()
	w.off = true
	if w.timer != nil {
		w.timer.Stop()
	}
}
