package egressproxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elazarl/goproxy"
)

// roundTrip sends an admitted request upstream. It never returns an error:
// goproxy answers a MITM'd request whose round trip fails by dropping the
// connection, so failures become responses here: a 403 when the streaming
// body scan found a token or the name resolved to a blocked address, a 502
// with the same JSON shape for any other upstream failure.
func (p *Proxy) roundTrip(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Response, error) {
	st, _ := ctx.UserData.(*reqState)
	if st == nil { // cannot happen: handleRequest sets both
		st = &reqState{}
	}
	// Connection: close is the client's hop; the upstream connection stays
	// pooled for other requests (a shallow copy, so goproxy still sees it).
	out := req
	if req.Close {
		c := *req
		c.Close = false
		out = &c
	}
	start := time.Now()
	resp, err := p.tr.RoundTrip(out)
	p.metrics.upstreamTook(time.Since(start))
	if sb := st.body; sb != nil && (sb.foundToken.Load() || sb.tooLarge.Load() || sb.secretRule.Load() != nil) {
		if resp != nil {
			resp.Body.Close()
		}
		d := deny(st.decision, ReasonTokenInBody)
		switch {
		case sb.tooLarge.Load():
			d.Reason = ReasonBodyTooLarge
		case sb.secretRule.Load() != nil && !sb.foundToken.Load():
			// Too long to hold or rewrite: whatever the route's policy,
			// a streamed body with a secret is refused.
			d.Reason, d.Rule = ReasonDLPMatch, *sb.secretRule.Load()
		}
		r := p.refuse(req, d, st.done)
		st.closeAfterRefusal(req, r)
		return r, nil
	}
	if err != nil {
		var blocked *blockedAddrError
		if errors.As(err, &blocked) {
			return p.refuse(req, deny(st.decision, ReasonBlockedAddress), st.done), nil
		}
		r := p.upstreamFailed(req, st.decision, err, st.done)
		st.closeAfterRefusal(req, r)
		return r, nil
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return p.switchProtocols(req, resp, st), nil
	}
	if st.injected && p.scan.enabled() {
		p.maskReflected(req, resp, st.decision)
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, onDone: st.done, flush: st.conn.flush}
	return resp, nil
}

// maskReflected masks the credential in a response to a request that
// carried it, and logs (never the value) when the upstream echoed it.
func (p *Proxy) maskReflected(req *http.Request, resp *http.Response, d Decision) {
	echoed := func() { p.noteEcho(d) }
	if p.scan.maskHeaders(resp.Header) || p.scan.maskHeaders(resp.Trailer) {
		echoed()
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		// Asked for identity and got an encoding the scan cannot read:
		// the body might carry the credential, so it does not go through.
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(""))
		resp.ContentLength, resp.StatusCode, resp.Status = 0, http.StatusBadGateway, "502 Bad Gateway"
		resp.Header = http.Header{"X-Bot-Bottle-Error": {"the upstream sent an encoded body to a request carrying a credential; it is not forwarded"}}
		p.log.Warn("upstream answered an authenticated request with an encoded body; refused", "host", d.Host, "encoding", ce)
		return
	}
	resp.Body = newMaskingBody(resp.Body, p.scan, resp.ContentLength, echoed)
}

// noteEcho counts and logs (never the value) an upstream's echo of the
// injected credential, which was masked.
func (p *Proxy) noteEcho(d Decision) {
	p.metrics.reflected.Inc()
	if d.Path == "" && d.rawPath != "" {
		d.Path = p.displayPath(d.rawPath, d.rawQuery)
	}
	p.log.Warn("upstream echoed the injected credential; masked it in the response", "host", d.Host, "path", d.Path)
}

// upstreamFailed logs an upstream failure and returns its 502.
func (p *Proxy) upstreamFailed(req *http.Request, d Decision, err error, onDone func()) *http.Response {
	p.metrics.upErrors.Inc()
	if d.Path == "" && d.rawPath != "" {
		d.Path = p.displayPath(d.rawPath, d.rawQuery)
	}
	p.log.Warn("upstream failed", "method", d.Method, "host", d.Host, "port", d.Port, "path", d.Path,
		"err", p.safeText(err.Error()))
	return p.refuse(req, deny(d, ReasonUpstreamError), onDone)
}
