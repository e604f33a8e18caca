package egressproxy

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// wsRelay is the body of an admitted WebSocket 101: goproxy writes the
// agent's bytes into it and copies what it reads out to the agent.
//
// Agent to upstream (Write), frames pass unchanged after their payload has
// been unmasked and scanned for tokens, with the last holdback bytes of
// the data (and, apart, of the control) payload stream kept as context: a
// token split across frames, or across messages, is still found before
// the frame that completes it leaves, so no whole token reaches the
// upstream. A frame carrying one ends the connection: the agent gets a
// close frame (1008, naming the denial) and a token_in_frame denial is
// recorded.
//
// Upstream to agent (Read), on routes that injected a credential, data
// frames are re-framed (RFC 6455 5.4 lets an intermediary re-fragment
// messages without extensions): their payload is masked as a response
// body is, holding back the tail that could be the start of a token until
// the next fragment or the end of the message. Control frames are masked
// whole. Each message ends when the upstream ends it, so request-reply
// protocols never wait on the holdback.
type wsRelay struct {
	p    *Proxy
	up   io.ReadWriteCloser
	st   *reqState
	mask bool

	in  wsInbound
	out wsOutbound

	mu        sync.Mutex
	closing   []byte // a close frame for the agent, once the relay ends
	closeSent chan struct{}
	readDone  atomic.Bool
	stopped   atomic.Bool // nothing more from the upstream goes to the agent
	echoed    atomic.Bool
	closeOnce sync.Once
	stopOnce  sync.Once
}

// wsCloseWait bounds how long a refusal waits for its close frame to reach
// the agent before the connection is dropped.
const wsCloseWait = 2 * time.Second

var (
	errTokenInFrame = errors.New("websocket frame carries a credential the proxy holds")
	errRelayStopped = errors.New("websocket relay stopped")
)

func newWSRelay(p *Proxy, up io.ReadWriteCloser, st *reqState, mask bool) *wsRelay {
	r := &wsRelay{p: p, up: up, st: st, mask: mask, closeSent: make(chan struct{})}
	if mask {
		r.out.hold = p.scan.maskHoldback()
	}
	r.out.rbuf = make([]byte, streamChunk)
	return r
}

// Write takes the agent's bytes: whole frames and parts of frames.
func (r *wsRelay) Write(b []byte) (int, error) {
	if err := r.in.relay(r, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Read returns frames for the agent.
func (r *wsRelay) Read(b []byte) (int, error) {
	n, err := r.out.read(r, b)
	if err != nil {
		r.readDone.Store(true)
	}
	return n, err
}

// Close closes the upstream end.
func (r *wsRelay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		err = r.up.Close()
		r.st.done()
	})
	return err
}

// refuseFrame records the denial of a frame carrying a token and stops the
// relay with a policy-violation close.
func (r *wsRelay) refuseFrame() error {
	den := r.p.record(deny(r.st.decision, ReasonTokenInFrame))
	r.stop(wsStatusPolicyViolation, ReasonTokenInFrame.String()+"; denial "+den.ID)
	return errTokenInFrame
}

// protocolError stops the relay on a frame it will not pass on.
func (r *wsRelay) protocolError(from string, err error) {
	r.p.log.Warn("websocket relay stopped", "from", from, "host", r.st.decision.Host, "err", err.Error())
	r.stop(wsStatusProtocolError, "bad frame from the "+from)
}

// stop queues a close frame for the agent and closes the upstream (which
// wakes the reader). A stop from the writing side waits, briefly, until
// the reader has handed the close frame on, so that goproxy does not drop
// the connection before the agent reads why.
func (r *wsRelay) stop(status uint16, reason string) {
	r.stopOnce.Do(func() {
		r.stopped.Store(true)
		r.mu.Lock()
		r.closing = appendCloseFrame(nil, status, reason)
		r.mu.Unlock()
		_ = r.up.Close()
	})
}

func (r *wsRelay) waitCloseSent() {
	if r.readDone.Load() {
		return
	}
	select {
	case <-r.closeSent:
	case <-time.After(wsCloseWait):
	}
}

func (r *wsRelay) takeClosing() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.closing
	r.closing = nil
	return c
}

// scanWindow scans one payload stream (data or control) of the agent's
// frames, keeping the last holdback bytes as context for the next chunk.
type scanWindow struct{ buf []byte }

// found unmasks chunk (at payload position pos of its frame) onto the
// window and reports whether the window then holds a token.
func (w *scanWindow) found(sc *scanner, chunk []byte, key [4]byte, pos uint64) bool {
	n := len(w.buf)
	w.buf = append(w.buf, chunk...)
	unmaskInto(w.buf[n:], chunk, key, pos)
	hit := sc.found(w.buf)
	if hold := sc.holdback(); len(w.buf) > hold {
		w.buf = w.buf[:copy(w.buf, w.buf[len(w.buf)-hold:])]
	}
	return hit
}

// wsInbound parses the agent's frames.
type wsInbound struct {
	pend    []byte // the start of a header that has not all arrived
	inFrame bool
	h       wsHeader
	pos     uint64 // payload bytes of the current frame relayed
	wbuf    []byte // scanned bytes to send on
	data    scanWindow
	ctrl    scanWindow
	err     error
}

func (in *wsInbound) relay(r *wsRelay, b []byte) error {
	if in.err != nil {
		return in.err
	}
	in.wbuf = in.wbuf[:0]
	data := b
	if len(in.pend) > 0 {
		data = append(in.pend, b...)
	}
	for {
		if !in.inFrame {
			h, ok, err := parseWSHeader(data, true)
			if err != nil {
				r.protocolError("agent", err)
				return in.fail(r, err)
			}
			if !ok {
				break
			}
			in.wbuf = append(in.wbuf, data[:h.size]...)
			data, in.h, in.pos, in.inFrame = data[h.size:], h, 0, true
		}
		k := min(uint64(len(data)), in.h.length-in.pos)
		if k > 0 {
			chunk := data[:k]
			win := &in.data
			if in.h.control() {
				win = &in.ctrl
			}
			if r.p.scan.enabled() && win.found(r.p.scan, chunk, in.h.key, in.pos) {
				return in.fail(r, r.refuseFrame())
			}
			in.wbuf = append(in.wbuf, chunk...)
			data, in.pos = data[k:], in.pos+k
		}
		if in.pos < in.h.length {
			break // the rest of the payload is still to come
		}
		in.inFrame = false
	}
	in.pend = append(in.pend[:0], data...) // at most a partial header
	// What was scanned leaves in one write: nothing of a Write that
	// carries a token (often a whole frame) reaches the upstream.
	if len(in.wbuf) > 0 {
		_, err := r.up.Write(in.wbuf)
		in.wbuf = in.wbuf[:0]
		if err != nil {
			return in.fail(r, err)
		}
	}
	return nil
}

// fail ends the agent's side: every later Write fails too. A refusal
// waits for its close frame to reach the agent first.
func (in *wsInbound) fail(r *wsRelay, err error) error {
	in.err = err
	if errors.Is(err, errTokenInFrame) || errors.Is(err, errFrame) {
		r.waitCloseSent()
	}
	return err
}

// wsOutbound parses the upstream's frames and makes the agent's.
type wsOutbound struct {
	rbuf    []byte
	hbuf    []byte // a header being collected
	inFrame bool
	h       wsHeader
	pos     uint64
	ctrl    []byte // a control frame's payload being collected

	inMsg      bool // a data message is open
	msgOp      byte
	msgEmitted bool   // its first fragment has gone to the agent
	pending    []byte // data payload not yet sent on
	masked     int    // pending[:masked] has been masked
	hold       int

	out   []byte // frames for the agent: out[off:] still to go
	off   int
	final bool // out holds the relay's close frame
	err   error
}

func (o *wsOutbound) read(r *wsRelay, b []byte) (int, error) {
	for o.off == len(o.out) {
		o.out, o.off = o.out[:0], 0
		switch {
		case o.final:
			close(r.closeSent)
			o.final = false
			o.err = errRelayStopped
			return 0, io.EOF
		case o.err != nil:
			return 0, io.EOF
		}
		if c := r.takeClosing(); c != nil {
			o.out, o.final = append(o.out, c...), true
			continue
		}
		n, err := r.up.Read(o.rbuf)
		if n > 0 && !r.stopped.Load() {
			if ferr := o.feed(r, o.rbuf[:n]); ferr != nil {
				r.protocolError("upstream", ferr)
			}
		}
		if err != nil && o.off == len(o.out) {
			if c := r.takeClosing(); c != nil {
				o.out, o.final = append(o.out, c...), true
				continue
			}
			o.err = err
		}
	}
	n := copy(b, o.out[o.off:])
	o.off += n
	return n, nil
}

// feed parses upstream bytes into frames for the agent.
func (o *wsOutbound) feed(r *wsRelay, data []byte) error {
	for len(data) > 0 {
		if !o.inFrame {
			a := min(len(data), wsMaxHeaderLen-len(o.hbuf))
			o.hbuf = append(o.hbuf, data[:a]...)
			h, ok, err := parseWSHeader(o.hbuf, false)
			if err != nil {
				return err
			}
			if !ok {
				data = data[a:]
				continue
			}
			data = data[a-(len(o.hbuf)-h.size):]
			o.hbuf = o.hbuf[:0]
			if err := o.startFrame(h); err != nil {
				return err
			}
		}
		k := min(uint64(len(data)), o.h.length-o.pos)
		chunk := data[:k]
		data, o.pos = data[k:], o.pos+k
		end := o.pos == o.h.length
		if o.h.control() {
			o.ctrl = append(o.ctrl, chunk...)
			if end {
				if r.mask {
					r.maskPayload(o.ctrl)
				}
				o.out = appendWSHeader(o.out, true, o.h.opcode, len(o.ctrl))
				o.out = append(o.out, o.ctrl...)
			}
		} else {
			o.data(r, chunk, end && o.h.fin)
		}
		if end {
			o.inFrame = false
		}
	}
	return nil
}

func (o *wsOutbound) startFrame(h wsHeader) error {
	switch {
	case h.control():
		o.ctrl = o.ctrl[:0]
	case h.opcode == wsOpContinuation && !o.inMsg:
		return errors.Join(errFrame, errors.New("continuation outside a message"))
	case h.opcode != wsOpContinuation && o.inMsg:
		return errors.Join(errFrame, errors.New("new message inside a fragmented one"))
	case h.opcode != wsOpContinuation:
		o.inMsg, o.msgOp, o.msgEmitted = true, h.opcode, false
	}
	o.h, o.pos, o.inFrame = h, 0, true
	return nil
}

// data adds a data frame's payload, masks it with the held-back context,
// and sends on all of it at the end of the message, all but the held-back
// tail otherwise.
func (o *wsOutbound) data(r *wsRelay, chunk []byte, msgEnd bool) {
	o.pending = append(o.pending, chunk...)
	if r.mask {
		from := max(0, o.masked-o.hold)
		if r.p.scan.maskToken(o.pending[from:]) {
			r.noteEcho()
		}
		o.masked = len(o.pending)
	}
	if msgEnd {
		o.emit(len(o.pending), true)
		return
	}
	if n := len(o.pending) - o.hold; n > 0 {
		o.emit(n, false)
	}
}

// emit sends pending[:n] on as one frame.
func (o *wsOutbound) emit(n int, fin bool) {
	op := byte(wsOpContinuation)
	if !o.msgEmitted {
		op, o.msgEmitted = o.msgOp, true
	}
	o.out = appendWSHeader(o.out, fin, op, n)
	o.out = append(o.out, o.pending[:n]...)
	o.pending = o.pending[:copy(o.pending, o.pending[n:])]
	o.masked = max(0, o.masked-n)
	if fin {
		o.inMsg = false
	}
}

// maskPayload masks tokens in a whole control payload.
func (r *wsRelay) maskPayload(b []byte) {
	if r.p.scan.maskToken(b) {
		r.noteEcho()
	}
}

// noteEcho counts and logs, once per connection, that the upstream echoed
// the credential.
func (r *wsRelay) noteEcho() {
	if !r.echoed.Swap(true) {
		r.p.noteEcho(r.st.decision)
	}
}
