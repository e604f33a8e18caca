package egressproxy

import (
	"bytes"
	"io"
	"net/http"
)

// An upstream can hand a credential back: a debug endpoint that echoes the
// request's headers, an error page quoting the request, a token
// introspection API. The agent would then read the token the proxy injected
// and never gave it. On routes whose requests carry an injected credential,
// the proxy therefore asks for an uncompressed response and masks every
// token (as sent, or in any of the encodings the request scanner knows) in
// the response's headers and body with '*' before the agent sees it. The
// mask has the token's length, so Content-Length stays true.

// maskToken replaces, in place, every occurrence of a pattern in b with '*'
// and reports whether it masked anything.
func (s *scanner) maskToken(b []byte) bool {
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
// holds back the last maxLen-1 bytes it has read until more arrive (or the
// body ends), so a token split across reads is masked whole.
type maskingBody struct {
	src     io.ReadCloser
	sc      *scanner
	hold    int
	buf     []byte // read, masked, not yet returned
	ready   int    // buf[:ready] may be returned
	err     error
	onMask  func()
	chunk   []byte
	flagged bool
}

func newMaskingBody(src io.ReadCloser, sc *scanner, onMask func()) *maskingBody {
	return &maskingBody{src: src, sc: sc, hold: max(sc.maxLen-1, 0), onMask: onMask}
}

func (m *maskingBody) Read(p []byte) (int, error) {
	for m.ready == 0 && m.err == nil {
		if m.chunk == nil {
			m.chunk = make([]byte, 32<<10)
		}
		n, err := m.src.Read(m.chunk)
		start := max(0, len(m.buf)-m.hold) // masking needs only the held-back tail as context
		m.buf = append(m.buf, m.chunk[:n]...)
		if m.sc.maskToken(m.buf[start:]) && !m.flagged {
			m.flagged = true
			if m.onMask != nil {
				m.onMask()
			}
		}
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
