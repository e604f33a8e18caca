package natsjs

import "sync"

// connWatch tells requests that the connection they were sent on broke:
// a request sent before a disconnect is never answered, and waiting out
// its timeout would stall an owner's bus for as long.
type connWatch struct {
	mu   sync.Mutex
	lost chan struct{} // closed by a disconnect; replaced on reconnect
}

func newConnWatch() *connWatch { return &connWatch{lost: make(chan struct{})} }

// lostSignal returns a channel closed when the current connection breaks
// (already closed while it is down).
func (w *connWatch) lostSignal() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// disconnected closes the signal of the connection that broke.
func (w *connWatch) disconnected() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.lost:
	default:
		close(w.lost)
	}
}

// reconnected starts a new signal for the new connection.
func (w *connWatch) reconnected() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.lost:
		w.lost = make(chan struct{})
	default:
	}
}
