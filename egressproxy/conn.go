package egressproxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connTracker knows every client connection of a proxy, including those
// goproxy has hijacked for tunnels and MITM (which net/http's Server no
// longer tracks). It bounds how many there are, closes idle and slow ones,
// and lets Shutdown wait for requests in flight before closing the rest.
type connTracker struct {
	lim   Limits
	slots chan struct{} // one per open connection: MaxConns

	mu    sync.Mutex
	conns map[*trackedConn]struct{}

	now  atomic.Int64 // coarse clock (unix nanoseconds), advanced by the reaper
	stop chan struct{}
	once sync.Once
}

func newConnTracker(lim Limits) *connTracker {
	t := &connTracker{lim: lim, slots: make(chan struct{}, lim.MaxConns), conns: map[*trackedConn]struct{}{}, stop: make(chan struct{})}
	t.now.Store(time.Now().UnixNano())
	go t.reap()
	return t
}

// connKind says what a client connection has become.
type connKind int32

const (
	kindHTTP   connKind = iota // served by net/http: plain proxy requests and CONNECTs
	kindMITM                   // hijacked by goproxy for a decrypted tunnel
	kindTunnel                 // hijacked for a passthrough tunnel (or a WebSocket)
)

// trackedConn is a client connection. Its counters are updated on the data
// path with single atomic operations; the reaper reads them.
type trackedConn struct {
	net.Conn
	t          *connTracker
	kind       atomic.Int32
	lastActive atomic.Int64
	inflight   atomic.Int32
	// In a MITM'd tunnel goproxy reads request heads itself, without the
	// limits net/http enforces, so the tracker enforces them: between the
	// end of one response and the start of the next request's handling, at
	// most MaxHeaderBytes (plus TLS overhead) may arrive, within
	// ReadHeaderTimeout of the first of those bytes.
	headPhase atomic.Bool
	headBytes atomic.Int64
	headStart atomic.Int64
	closeOnce sync.Once
	closeErr  error
	// out coalesces writes while the connection is a MITM'd tunnel.
	out atomic.Pointer[coalescer]
	// closers run once the connection is closed.
	closersMu sync.Mutex
	closers   []func()
	closed    bool
}

// onClose runs fn once the connection is closed (at once if it is).
func (c *trackedConn) onClose(fn func()) {
	c.closersMu.Lock()
	if c.closed {
		c.closersMu.Unlock()
		fn()
		return
	}
	c.closers = append(c.closers, fn)
	c.closersMu.Unlock()
}

var errHeadTooLarge = errors.New("request head too large")

func (c *trackedConn) Read(p []byte) (int, error) {
	if w := c.out.Load(); w != nil {
		if err := w.Flush(); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		now := c.t.now.Load()
		c.lastActive.Store(now)
		if c.headPhase.Load() {
			if c.headBytes.Add(int64(n)) == int64(n) {
				c.headStart.Store(now)
			}
			if c.headBytes.Load() > int64(c.t.lim.MaxHeaderBytes)+mitmHeadSlack {
				_ = c.Close()
				return n, errHeadTooLarge
			}
		}
	}
	return n, err
}

// closeFlushTimeout bounds the last flush of a closing connection.
const closeFlushTimeout = 200 * time.Millisecond

// mitmHeadSlack covers the TLS handshake and record overhead counted with a
// MITM'd request head.
const mitmHeadSlack = 32 << 10

func (c *trackedConn) Write(p []byte) (int, error) {
	c.lastActive.Store(c.t.now.Load())
	if w := c.out.Load(); w != nil {
		return w.Write(p)
	}
	return c.Conn.Write(p)
}

// flush writes what the coalescer holds, if any.
func (c *trackedConn) flush() {
	if c == nil {
		return
	}
	if w := c.out.Load(); w != nil {
		_ = w.Flush()
	}
}

// CloseWrite and CloseRead let goproxy half-close passthrough tunnels.
func (c *trackedConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return c.Close()
}

func (c *trackedConn) CloseRead() error {
	if hc, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return hc.CloseRead()
	}
	return nil
}

// Close closes the connection once and frees its slot.
func (c *trackedConn) Close() error {
	c.closeOnce.Do(func() {
		if w := c.out.Load(); w != nil {
			// Send what is buffered (a TLS close_notify, typically), but
			// never wait long on a peer that stopped reading: the
			// deadline also unblocks a flush already stuck.
			_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
			w.stop()
		}
		c.closeErr = c.Conn.Close()
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
		<-c.t.slots
		c.closersMu.Lock()
		fns := c.closers
		c.closers, c.closed = nil, true
		c.closersMu.Unlock()
		for _, fn := range fns {
			fn()
		}
	})
	return c.closeErr
}

// markHijacked records that goproxy now owns the connection as kind. A nil
// connection (a listener that is not ours) is ignored.
func (c *trackedConn) markHijacked(kind connKind) {
	if c == nil {
		return
	}
	c.kind.Store(int32(kind))
	switch kind {
	case kindMITM:
		c.startHead()
		c.out.Store(&coalescer{write: c.Conn.Write})
	case kindTunnel:
		if w := c.out.Load(); w != nil {
			w.stop()
		}
	}
}

// startHead marks the end of a response: what arrives next is a head.
func (c *trackedConn) startHead() {
	c.headBytes.Store(0)
	c.headStart.Store(0)
	c.headPhase.Store(true)
}

// requestStarted marks a request entering the proxy's handler.
func (c *trackedConn) requestStarted() {
	if c == nil {
		return
	}
	c.headPhase.Store(false)
	c.inflight.Add(1)
}

// requestDone marks a response written in full.
func (c *trackedConn) requestDone() {
	if c == nil {
		return
	}
	c.flush()
	if c.inflight.Add(-1) == 0 && connKind(c.kind.Load()) == kindMITM {
		c.startHead()
	}
}

// listener wraps the proxy's listener so each accepted connection is
// tracked and counts against MaxConns.
type listener struct {
	net.Listener
	t      *connTracker
	closed chan struct{}
	once   sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case l.t.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.t.slots
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: l.t}
	tc.lastActive.Store(l.t.now.Load())
	l.t.mu.Lock()
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	return tc, nil
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// reap advances the coarse clock and closes hijacked connections that have
// been idle too long or are taking too long to send a head.
func (t *connTracker) reap() {
	tick := time.NewTicker(reapInterval(t.lim))
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.now.Store(now.UnixNano())
			for _, c := range t.snapshot() {
				if t.expired(c, now.UnixNano()) {
					go c.Close() // a last flush may take closeFlushTimeout
				}
			}
		}
	}
}

func reapInterval(lim Limits) time.Duration {
	d := min(lim.IdleTimeout, lim.ReadHeaderTimeout) / 4
	return max(min(d, time.Second), 10*time.Millisecond)
}

func (t *connTracker) expired(c *trackedConn, now int64) bool {
	kind := connKind(c.kind.Load())
	if kind == kindHTTP {
		return false // net/http enforces its own timeouts
	}
	if kind == kindMITM && c.headPhase.Load() {
		if start := c.headStart.Load(); start != 0 && now-start > int64(t.lim.ReadHeaderTimeout) {
			return true
		}
	}
	limit := t.lim.IdleTimeout
	if kind == kindMITM && c.inflight.Load() > 0 {
		limit = max(limit, t.lim.ResponseTimeout)
	}
	return now-c.lastActive.Load() > int64(limit)
}

func (t *connTracker) snapshot() []*trackedConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		out = append(out, c)
	}
	return out
}

// closeIdle closes every connection with no request in flight and reports
// how many remain open.
func (t *connTracker) closeIdle() int {
	open := 0
	for _, c := range t.snapshot() {
		if c.inflight.Load() == 0 && connKind(c.kind.Load()) != kindTunnel {
			_ = c.Close()
			continue
		}
		open++
	}
	return open
}

// closeAll closes every connection.
func (t *connTracker) closeAll() {
	for _, c := range t.snapshot() {
		_ = c.Close()
	}
}

func (t *connTracker) stopReaper() { t.once.Do(func() { close(t.stop) }) }
