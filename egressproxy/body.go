package egressproxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

var (
	errTokenInBody  = errors.New("request body carries a credential the proxy holds")
	errBodyTooLarge = errors.New("request body exceeds the proxy's limit")
)

const streamChunk = 32 << 10

// scanBody streams a request body to the upstream while scanning it for the
// proxy's tokens, without buffering more than one chunk plus the scanner's
// holdback. The last holdback bytes seen are never released until more data
// (or the end) has been scanned with them, so no complete token, in any
// encoding the scanner knows, reaches the upstream: when one is found, Read
// fails and the transport aborts the upstream request. Its counters are read
// by the round tripper after the transport returns, from another goroutine.
type scanBody struct {
	src   io.ReadCloser
	sc    *scanner
	limit int64 // 0: unlimited
	hold  int

	buf   []byte // bytes not yet returned: buf[off:]
	off   int
	safe  int // buf[off:off+safe] has been scanned with enough context to release
	total int64
	eof   bool
	err   error

	scratch [2][]byte // decoded views, reused across chunks

	foundToken atomic.Bool
	tooLarge   atomic.Bool
}

// newScanBody wraps src, whose first bytes, prefix, were already read and
// scanned whole by the caller.
func newScanBody(prefix []byte, src io.ReadCloser, sc *scanner, limit int64) *scanBody {
	b := &scanBody{src: src, sc: sc, limit: limit, buf: prefix, total: int64(len(prefix))}
	if sc.enabled() {
		b.hold = sc.holdback()
	}
	b.safe = max(0, len(prefix)-b.hold)
	return b
}

// Read implements io.Reader.
func (b *scanBody) Read(p []byte) (int, error) {
	for {
		if b.safe > 0 {
			n := copy(p, b.buf[b.off:b.off+b.safe])
			b.off += n
			b.safe -= n
			return n, nil
		}
		if b.err != nil {
			return 0, b.err
		}
		if b.eof {
			return 0, io.EOF
		}
		b.fill()
	}
}

// fill reads one chunk from src, scans the unreleased bytes with it and
// decides how many may be released.
func (b *scanBody) fill() {
	if b.off > 0 {
		n := copy(b.buf, b.buf[b.off:])
		b.buf = b.buf[:n]
		b.off = 0
	}
	if cap(b.buf)-len(b.buf) < streamChunk {
		grown := make([]byte, len(b.buf), len(b.buf)+streamChunk+b.hold)
		copy(grown, b.buf)
		b.buf = grown
	}
	n, err := b.src.Read(b.buf[len(b.buf) : len(b.buf)+streamChunk])
	b.buf = b.buf[:len(b.buf)+n]
	b.total += int64(n)
	if b.limit > 0 && b.total > b.limit {
		b.tooLarge.Store(true)
		b.err = errBodyTooLarge
		return
	}
	if n > 0 && b.sc.foundScratch(b.buf, &b.scratch) {
		b.foundToken.Store(true)
		b.err = errTokenInBody
		return
	}
	switch {
	case err == io.EOF:
		b.eof = true
		b.safe = len(b.buf)
	case err != nil:
		b.err = err
		b.safe = max(0, len(b.buf)-b.hold)
	default:
		b.safe = max(0, len(b.buf)-b.hold)
	}
}

// Close closes the client's body.
func (b *scanBody) Close() error { return b.src.Close() }

// prepareBody reads up to lim.BodyBufferBytes of the request body. A body
// that fits is scanned whole before the upstream sees a byte of it (and can
// be replayed by the transport on a stale connection); a longer one is
// scanned while it streams. It returns the reason to refuse the request, if
// any, and the streaming body (nil when the body was buffered whole or there
// is none) whose verdict the round tripper reads afterwards.
func prepareBody(req *http.Request, sc *scanner, lim Limits) (Reason, *scanBody) {
	if req.Body == nil || req.Body == http.NoBody {
		return ReasonAllowed, nil
	}
	if req.ContentLength > lim.MaxBodyBytes {
		return ReasonBodyTooLarge, nil
	}
	if req.ContentLength == 0 && len(req.TransferEncoding) == 0 {
		return ReasonAllowed, nil
	}
	bufSize := lim.BodyBufferBytes
	if req.ContentLength > 0 && req.ContentLength < bufSize {
		bufSize = req.ContentLength
	}
	var buf bytes.Buffer
	buf.Grow(int(bufSize) + 1)
	_, err := io.Copy(&buf, io.LimitReader(req.Body, lim.BodyBufferBytes+1))
	if err != nil {
		return ReasonBadRequest, nil
	}
	if sc.found(buf.Bytes()) {
		return ReasonTokenInBody, nil
	}
	if int64(buf.Len()) <= lim.BodyBufferBytes {
		data := buf.Bytes()
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		req.ContentLength = int64(len(data))
		req.TransferEncoding = nil
		return ReasonAllowed, nil
	}
	sb := newScanBody(buf.Bytes(), req.Body, sc, lim.MaxBodyBytes)
	req.Body = sb
	req.GetBody = nil
	return ReasonAllowed, sb
}
