package egressproxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// After "101 Switching Protocols" the connection carries another protocol,
// which goproxy relays as raw bytes: nothing of it would be checked. So the
// proxy relays only WebSocket, and only through wsRelay, which scans the
// agent's frames for tokens and masks them in the upstream's frames, as it
// does for bodies. Any other upgrade (h2c, TLS, ...) is refused on every
// route; a WebSocket upgrade on a route that injects a credential is
// refused unless the route says websocket: true.
//
// permessage-deflate (and any other extension) is taken out of the
// handshake: the agent's Sec-WebSocket-Extensions header is dropped, so
// frames travel uncompressed and the relay reads them as they are. The
// alternative, inflating every message, would need a decompressor per
// direction kept for the connection's life (context takeover), a bound
// against inflation bombs, and re-compressing masked upstream messages;
// the extension is optional in the protocol and every peer must do
// without it. An upstream that negotiates one anyway is refused.

// checkUpgrade decides a request that asks for a protocol upgrade (an
// Upgrade header). websocket reports a WebSocket handshake the route
// admits.
func checkUpgrade(h http.Header, r *route) (websocket bool, reason Reason) {
	up := h.Values("Upgrade")
	if len(up) == 0 {
		return false, ReasonAllowed
	}
	if len(up) != 1 || !strings.EqualFold(strings.TrimSpace(up[0]), "websocket") || !hasToken(h, "Connection", "upgrade") {
		return false, ReasonUpgradeNotAllowed
	}
	if !r.auth.IsZero() && !r.websocket {
		return false, ReasonWebSocketNotAllowed
	}
	return true, ReasonAllowed
}

// hasToken reports whether a comma-separated header holds token
// (case-insensitive).
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// switchProtocols handles an upstream's 101. Only the WebSocket handshake
// the proxy admitted, without extensions, goes on, and its frames pass
// through a wsRelay; anything else is a 502 and the upstream connection is
// closed.
func (p *Proxy) switchProtocols(req *http.Request, resp *http.Response, st *reqState) *http.Response {
	rw, ok := resp.Body.(io.ReadWriteCloser)
	var why string
	switch {
	case !st.websocket || !ok:
		why = "the upstream switched protocols unasked"
	case !hasToken(resp.Header, "Upgrade", "websocket") || !hasToken(resp.Header, "Connection", "upgrade"):
		why = "the upstream switched to a protocol other than WebSocket"
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		why = "the upstream negotiated a WebSocket extension the proxy did not offer"
	}
	if why != "" {
		resp.Body.Close()
		r := p.upstreamFailed(req, st.decision, errors.New(why), st.done)
		r.Close = true
		return r
	}
	mask := st.injected && p.scan.enabled()
	if mask && (p.scan.maskHeaders(resp.Header) || p.scan.maskHeaders(resp.Trailer)) {
		p.noteEcho(st.decision)
	}
	// goproxy relays the upgraded connection itself; the connection is
	// a tunnel for the idle timeout from now on.
	st.conn.markHijacked(kindTunnel)
	resp.Body = newWSRelay(p, rw, st, mask)
	return resp
}
