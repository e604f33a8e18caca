package egressproxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/elazarl/goproxy"
)

// IntrospectionHost is the magic host the proxy answers itself, over plain
// http and through CONNECT: GET /routes and GET /denials?last=N.
const IntrospectionHost = "egress.bottle.internal"

// tunnel is what a CONNECT leaves behind for the requests of its tunnel
// (goproxy copies ctx.UserData into each of them): the authority the client
// asked for, which every request inside must name.
type tunnel struct {
	host       string // normalised
	port       int
	conn       *trackedConn
	introspect bool
	// denied is set when the CONNECT itself was refused: the tunnel is
	// decrypted only so that every request in it gets this denial as a
	// readable 403 (HTTP clients do not show a CONNECT response's body).
	// Nothing in it is ever forwarded.
	denied *deniedTunnel
}

// deniedTunnel is a refused CONNECT kept open so that its requests read the
// denial. The denial is recorded once, as the request the agent sent in it
// (its method and path), or, when the tunnel ends with no request, as the
// CONNECT itself: one fact per denial id, the same the agent's 403 shows.
type deniedTunnel struct {
	d        Decision
	den      schemas.Denial // built at the CONNECT, not yet recorded
	recorded sync.Once
}

// handleConnect decides a CONNECT: a tunnel whose ClientHello is checked
// before anything is dialled for tls_passthrough routes (passthrough.go),
// MITM for the other routes, and for a host or port no route admits
// (or an IP literal) a decrypted tunnel whose every request gets the
// structured 403 (see denyInTunnel). A malformed authority is refused at
// the CONNECT itself. It always returns an action.
func (p *Proxy) handleConnect(authority string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	p.metrics.request(kindLabelConnect)
	d := Decision{Method: http.MethodConnect}
	h, portStr, err := net.SplitHostPort(authority)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil || port < 1 || port > 65535 || h == "" {
		d.Host = authority
		return p.rejectWith(ctx, deny(d, ReasonBadRequest))
	}
	host := schemas.NormalizeHost(h)
	d.Host, d.Port = host, port
	target := net.JoinHostPort(host, portStr)
	conn := connOf(ctx.Req)
	if host == IntrospectionHost {
		conn.markHijacked(kindMITM)
		ctx.UserData = &tunnel{host: host, port: port, conn: conn, introspect: true}
		return p.mitm, target
	}
	if schemas.IsIPLiteral(h) {
		return p.denyInTunnel(ctx, conn, deny(d, ReasonIPLiteral), target)
	}
	r, reason := p.table.Load().lookup(host, port, 443)
	if reason != ReasonAllowed {
		return p.denyInTunnel(ctx, conn, deny(d, reason), target)
	}
	ctx.UserData = &tunnel{host: host, port: port, conn: conn}
	if r.passthrough {
		// Decided (and counted) once the ClientHello has been read.
		conn.markHijacked(kindTunnel)
		return p.passthrough, target
	}
	p.metrics.decision(ReasonAllowed)
	conn.markHijacked(kindMITM)
	return p.mitm, target
}

// rejectConnect is the last CONNECT handler: if it is ever reached (no
// handler before it decided), the CONNECT is refused, never tunnelled.
func (p *Proxy) rejectConnect(authority string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	return p.rejectWith(ctx, deny(Decision{Method: http.MethodConnect, Host: authority}, ReasonHostNotAllowed))
}

// denyInTunnel refuses a CONNECT to a host the table does not admit by
// accepting it and answering every request inside with the structured 403.
// Real clients (curl, Go, Node) report a refused CONNECT as a bare error and
// never show its body; inside the tunnel the agent reads the denial, its id
// and the hint on how to ask for access. The denial is recorded once, by
// the first request in the tunnel or as the CONNECT when none comes (see
// deniedTunnel); no upstream is ever dialled.
func (p *Proxy) denyInTunnel(ctx *goproxy.ProxyCtx, conn *trackedConn, d Decision, target string) (*goproxy.ConnectAction, string) {
	dt := &deniedTunnel{d: d, den: p.denialOf(d)}
	if conn == nil {
		dt.recorded.Do(func() { p.emit(d, dt.den) }) // no way to see the tunnel end: record the CONNECT now
	} else {
		conn.onClose(func() { dt.recorded.Do(func() { p.emit(d, dt.den) }) })
	}
	conn.markHijacked(kindMITM)
	ctx.UserData = &tunnel{host: d.Host, port: d.Port, conn: conn, denied: dt}
	return p.mitm, target
}

func (p *Proxy) rejectWith(ctx *goproxy.ProxyCtx, d Decision) (*goproxy.ConnectAction, string) {
	ctx.Resp = p.refuse(ctx.Req, d, nil)
	ctx.Resp.Close = true // goproxy closes the connection after writing it
	return p.reject, d.Host
}

// mitmTLSConfig returns the server TLS config, with a leaf signed by the
// bottle's CA, for the host the CONNECT handler returned.
func (p *Proxy) mitmTLSConfig(authority string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(authority)
	if err != nil {
		host = authority
	}
	return p.certs.tlsConfig(host)
}

// refuseConnectDial is goproxy's dialer for ConnectAccept tunnels, which
// the proxy never asks for: a tunnel it did not check is never opened.
func refuseConnectDial(_ *http.Request, _ string, addr string) (net.Conn, error) {
	return nil, &dialError{addr, errors.New("unchecked tunnels are never opened")}
}

// connectionError is goproxy's handler for errors on a hijacked CONNECT
// (a MITM leaf it could not get). Nothing useful can be written into a
// tunnel by then; goproxy closes the connection.
func (p *Proxy) connectionError(_ io.Writer, ctx *goproxy.ProxyCtx, err error) {
	p.log.Debug("tunnel error", "err", p.safeText(err.Error()))
}
