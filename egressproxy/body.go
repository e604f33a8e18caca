package egressproxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/bot-bottle/bot-bottle/dlp"
)

var (
	errTokenInBody  = errors.New("request body carries a credential the proxy holds")
	errBodyTooLarge = errors.New("request body exceeds the proxy's limit")
	errSecretInBody = errors.New("request body carries a secret")
)

// dlpHoldback is how much of a streamed body is held back for the DLP
// rules: a credential split across two reads is seen whole when it is
// shorter than this.
const dlpHoldback = 4 << 10

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
	det   *dlp.Detector // nil: no DLP rules on this body
	limit int64         // 0: unlimited
	hold  int

	buf   []byte // bytes not yet returned: buf[off:]
	off   int
	safe  int // buf[off:off+safe] has been scanned with enough context to release
	total int64
	eof   bool
	err   error

	scratch dlp.Scratch // decoded views, reused across chunks

	foundToken atomic.Bool
	tooLarge   atomic.Bool
	// secretRule is the DLP rule that found a secret, set before Read
	// fails with errSecretInBody.
	secretRule atomic.Pointer[string]
}

// newScanBody wraps src, whose first bytes, prefix, were already read and
// scanned whole by the caller.
func newScanBody(prefix []byte, src io.ReadCloser, sc *scanner, det *dlp.Detector, limit int64) *scanBody {
	b := &scanBody{src: src, sc: sc, det: det, limit: limit, buf: prefix, total: int64(len(prefix))}
	if sc.enabled() {
		b.hold = sc.holdback()
	}
	if det != nil {
		b.hold = max(b.hold, dlpHoldback)
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
	if n > 0 && b.det != nil {
		if fs := b.det.Find(b.buf, &b.scratch); len(fs) > 0 {
			rule := fs[0].Rule
			b.secretRule.Store(&rule)
			b.err = errSecretInBody
			return
		}
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

// body is what prepareBody learnt of a request body.
type body struct {
	// data is the body as sent, when it was buffered whole (nil when
	// there is none or it streams).
	data []byte
	// plain is data with its content codings undone (data itself when
	// it has none): what the upstream's application reads.
	plain []byte
	// codings are the Content-Encoding codings, in the order applied.
	codings []string
	// stream is the streaming body scanner, when the body was too long to
	// buffer; the round tripper reads its verdict afterwards.
	stream *scanBody
}

// prepareBody reads up to lim.BodyBufferBytes of the request body. A body
// that fits is scanned whole before the upstream sees a byte of it (and can
// be replayed by the transport on a stale connection), and decoded first
// when it has a Content-Encoding; a longer one is scanned while it streams,
// unless it is encoded (it could not be decoded in step, so it is refused).
// It returns the reason to refuse the request, if any, and what it learnt
// of the body.
func prepareBody(req *http.Request, sc *scanner, det *dlp.Detector, lim Limits) (Reason, body) {
	var bd body
	if req.Body == nil || req.Body == http.NoBody {
		return ReasonAllowed, bd
	}
	if req.ContentLength > lim.MaxBodyBytes {
		return ReasonBodyTooLarge, bd
	}
	if req.ContentLength == 0 && len(req.TransferEncoding) == 0 {
		return ReasonAllowed, bd
	}
	bd.codings = dlp.Codings(req.Header.Values("Content-Encoding"))
	bufSize := lim.BodyBufferBytes
	if req.ContentLength > 0 && req.ContentLength < bufSize {
		bufSize = req.ContentLength
	}
	var buf bytes.Buffer
	buf.Grow(int(bufSize) + 1)
	_, err := io.Copy(&buf, io.LimitReader(req.Body, lim.BodyBufferBytes+1))
	if err != nil {
		return ReasonBadRequest, bd
	}
	if sc.found(buf.Bytes()) {
		return ReasonTokenInBody, bd
	}
	if int64(buf.Len()) > lim.BodyBufferBytes {
		if len(bd.codings) > 0 {
			return ReasonDecodedTooLarge, bd
		}
		bd.stream = newScanBody(buf.Bytes(), req.Body, sc, det, lim.MaxBodyBytes)
		req.Body = bd.stream
		req.GetBody = nil
		return ReasonAllowed, bd
	}
	bd.data = buf.Bytes()
	bd.plain = bd.data
	if len(bd.codings) > 0 {
		plain, err := dlp.Decode(bd.codings, bd.data, lim.MaxDecodedBytes)
		switch {
		case errors.Is(err, dlp.ErrDecodedTooLarge):
			return ReasonDecodedTooLarge, bd
		case err != nil:
			return ReasonBodyNotDecodable, bd
		}
		if sc.found(plain) {
			return ReasonTokenInBody, bd
		}
		bd.plain = plain
	}
	bd.replace(req, bd.data)
	return ReasonAllowed, bd
}

// replace makes data the request's body, replayable.
func (bd *body) replace(req *http.Request, data []byte) {
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.ContentLength = int64(len(data))
	req.TransferEncoding = nil
}
