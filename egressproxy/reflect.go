package egressproxy

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// An upstream can hand a credential back: a debug endpoint that echoes the
// request's headers, an error page quoting the request, a token
// introspection API. The agent would then read the token the proxy injected
// and never gave it. On routes whose requests carry an injected credential,
// the proxy therefore asks for an uncompressed response and masks every
// token (as sent, or in any of the encodings the request scanner knows,
// also behind JSON, HTML or percent escapes) in the response's headers and
// body with '*' before the agent sees it. The
// mask has the token's length, so Content-Length stays true.

// maskToken replaces, in place, every occurrence of a pattern in b with '*'
// and reports whether it masked anything. It finds the patterns as they
// are and in each decoded view of b (see unescape.go), where it masks the
// whole escapes that encode the match.
func (s *scanner) maskToken(b []byte) bool {
	masked := s.maskRaw(b)
	v := views.Get().(*view)
	defer views.Put(v)
	for _, dec := range responseDecoders {
		if !dec.decodeView(v, b) {
			continue
		}
		for _, p := range s.patterns {
			for i := 0; ; {
				j := bytes.Index(v.dec[i:], p)
				if j < 0 {
					break
				}
				from, to := v.srcRange(i+j, i+j+len(p))
				for k := from; k < to; k++ {
					b[k] = '*'
				}
				masked = true
				i += j + len(p)
			}
		}
	}
	return masked
}

var views = sync.Pool{New: func() any { return new(view) }}

// maskRaw masks the patterns as they are.
func (s *scanner) maskRaw(b []byte) bool {
	masked := false
	for _, p := range s.patterns {
		for i := 0; ; {
			j := bytes.Index(b[i:], p)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(p); k++ {
				b[k] = '*'
			}
			masked = true
			i += j + len(p)
		}
	}
	return masked
}

// maskHoldback is how many trailing bytes of a stream the masker holds
// back: the longest pattern, every byte of it written as the longest
// escape, less one.
func (s *scanner) maskHoldback() int { return max(s.maxLen*maxEscapeLen-1, 0) }

// maskHeaders masks tokens in the values of h and reports whether it did.
func (s *scanner) maskHeaders(h http.Header) bool {
	masked := false
	for k, vs := range h {
		for i, v := range vs {
			b := []byte(v)
			if s.maskToken(b) {
				h[k][i] = string(b)
				masked = true
			}
		}
	}
	return masked
}

// maskingBody passes a response body through with every token masked. It
// holds back the last maskHoldback bytes it has read until more arrive (or the
// body ends), so a token split across reads is masked whole. A body of
// known, modest length is read whole on the first Read, so it still leaves
// in one write.
type maskingBody struct {
	src     io.ReadCloser
	sc      *scanner
	hold    int
	whole   int64  // read the body whole when its length is known and at most this
	buf     []byte // read, masked, not yet returned
	ready   int    // buf[:ready] may be returned
	err     error
	onMask  func()
	flagged bool
}

// wholeBodyLimit bounds the bodies read whole before the first byte leaves.
const wholeBodyLimit = 256 << 10

func newMaskingBody(src io.ReadCloser, sc *scanner, contentLength int64, onMask func()) *maskingBody {
	m := &maskingBody{src: src, sc: sc, hold: sc.maskHoldback(), onMask: onMask, whole: -1}
	if contentLength >= 0 && contentLength <= wholeBodyLimit {
		m.whole = contentLength
	}
	return m
}

func (m *maskingBody) mask(from int) {
	if m.sc.maskToken(m.buf[from:]) && !m.flagged {
		m.flagged = true
		if m.onMask != nil {
			m.onMask()
		}
	}
}

func (m *maskingBody) Read(p []byte) (int, error) {
	if m.whole >= 0 {
		m.buf = make([]byte, m.whole)
		n, err := io.ReadFull(m.src, m.buf)
		m.buf, m.whole = m.buf[:n], -1
		if err == nil {
			err = io.EOF // Content-Length bytes read: the body is complete
		}
		m.mask(0)
		m.err, m.ready = err, len(m.buf)
	}
	for m.ready == 0 && m.err == nil {
		start := max(0, len(m.buf)-m.hold) // masking needs only the held-back tail as context
		if cap(m.buf)-len(m.buf) < 16<<10 {
			grown := make([]byte, len(m.buf), len(m.buf)+32<<10)
			copy(grown, m.buf)
			m.buf = grown
		}
		n, err := m.src.Read(m.buf[len(m.buf):cap(m.buf)])
		m.buf = m.buf[:len(m.buf)+n]
		m.mask(start)
		if err != nil {
			m.err, m.ready = err, len(m.buf)
		} else {
			m.ready = max(0, len(m.buf)-m.hold)
		}
	}
	if m.ready == 0 {
		return 0, m.err
	}
	n := copy(p, m.buf[:m.ready])
	m.buf = m.buf[n:]
	m.ready -= n
	if m.ready == 0 && len(m.buf) == 0 && m.err != nil {
		return n, m.err
	}
	return n, nil
}

func (m *maskingBody) Close() error { return m.src.Close() }
