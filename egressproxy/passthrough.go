package egressproxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/elazarl/goproxy"
)

// servePassthrough runs a tls_passthrough tunnel once its CONNECT has been
// admitted (goproxy hands over the client connection: ConnectHijack). It
// answers 200, reads the ClientHello, checks its server name against the
// CONNECT host, and only then dials the upstream, replays the hello and
// relays bytes both ways, unopened. A hello that fails the check, or an
// upstream that cannot be dialled, is a refusal like any other: recorded
// and published, and answered, if the client goes on to speak TLS and HTTP
// with the bottle's CA, with the structured 403 (or 502) inside a TLS
// session; nothing is dialled for a refused hello.
func (p *Proxy) servePassthrough(req *http.Request, client net.Conn, ctx *goproxy.ProxyCtx) {
	defer client.Close()
	t, _ := ctx.UserData.(*tunnel)
	if t == nil { // cannot happen: handleConnect sets it
		return
	}
	d := Decision{Method: http.MethodConnect, Host: t.host, Port: t.port}
	if _, err := io.WriteString(client, connectEstablished(req)); err != nil {
		return
	}
	_ = client.SetReadDeadline(time.Now().Add(p.lim.ReadHeaderTimeout))
	raw, msg, err := readClientHello(client)
	_ = client.SetReadDeadline(time.Time{})
	var info helloInfo
	if err == nil {
		info, err = parseClientHello(msg)
	}
	if reason := p.checkHello(t, info, err); reason != ReasonAllowed {
		den := p.record(deny(d, reason))
		if err == nil {
			p.serveDenialTLS(client, raw, p.denialCertName(t, info), reason.Status(), den)
		}
		return
	}
	target := net.JoinHostPort(t.host, strconv.Itoa(t.port))
	up, err := p.dial.dialTunnel(req.Context(), target)
	if err != nil {
		reason := ReasonUpstreamError
		var blocked *blockedAddrError
		if errors.As(err, &blocked) {
			reason = ReasonBlockedAddress
		}
		var den schemas.Denial
		if reason == ReasonUpstreamError {
			p.metrics.upErrors.Inc()
			p.log.Warn("upstream failed", "method", d.Method, "host", d.Host, "port", d.Port, "err", p.safeText(err.Error()))
		}
		den = p.record(deny(d, reason))
		p.serveDenialTLS(client, raw, t.host, reason.Status(), den)
		return
	}
	defer up.Close()
	p.metrics.decision(ReasonAllowed)
	if _, err := up.Write(raw); err != nil {
		return
	}
	p.relayPassthrough(client, up, t, d)
}

// checkHello decides a passthrough tunnel's ClientHello: its server name
// must be the CONNECT host, normalised as routes are.
func (p *Proxy) checkHello(t *tunnel, info helloInfo, err error) Reason {
	switch {
	case err != nil:
		return ReasonNotTLS
	case info.ech:
		return ReasonECH
	case info.serverName == "":
		return ReasonSNIMissing
	case schemas.CheckHostName(info.serverName) != "" || schemas.NormalizeHost(info.serverName) != t.host:
		return ReasonSNIMismatch
	}
	return ReasonAllowed
}

// denialCertName is the name the refusal's TLS session presents a leaf
// for: the name the client asked for when it is a host name (so a client
// that trusts the bottle's CA reads the refusal), the CONNECT host
// otherwise.
func (p *Proxy) denialCertName(t *tunnel, info helloInfo) string {
	if info.serverName != "" && schemas.CheckHostName(info.serverName) == "" && !p.scan.foundString(info.serverName) {
		return schemas.NormalizeHost(info.serverName)
	}
	return t.host
}

// serveDenialTLS answers a refused passthrough tunnel: it completes the
// TLS handshake the client began (replaying hello) with a leaf from the
// bottle's CA, reads one request head and answers it with den, then
// closes. A client that does not trust the CA, or does not speak HTTP,
// just sees the connection end; the denial was recorded either way.
func (p *Proxy) serveDenialTLS(client net.Conn, hello []byte, name string, status int, den schemas.Denial) {
	cfg, err := p.certs.tlsConfig(name)
	if err != nil {
		return
	}
	_ = client.SetDeadline(time.Now().Add(p.lim.ReadHeaderTimeout))
	tc := tls.Server(&replayConn{Conn: client, r: io.MultiReader(bytes.NewReader(hello), client)}, cfg)
	defer tc.Close()
	if err := tc.Handshake(); err != nil {
		return
	}
	req, err := http.ReadRequest(bufio.NewReader(io.LimitReader(tc, int64(p.lim.MaxHeaderBytes))))
	if err != nil {
		return
	}
	if rawPath, rawQuery, ok := splitTarget(req.RequestURI); ok {
		den.Method, den.Path = req.Method, p.displayPath(rawPath, rawQuery)
	}
	resp := denialResponse(req, status, den, nil)
	resp.Close = true
	_ = resp.Write(tc)
}

// connectEstablished is the CONNECT's 200, in the client's HTTP version.
func connectEstablished(req *http.Request) string {
	major, minor := req.ProtoMajor, req.ProtoMinor
	if major == 0 {
		major, minor = 1, 1
	}
	return "HTTP/" + strconv.Itoa(major) + "." + strconv.Itoa(minor) + " 200 Connection established\r\n\r\n"
}

func copyErr(dst io.Writer, src io.Reader) error {
	_, err := io.Copy(dst, src)
	return err
}

// halfClose ends the writing side of c after a copy into it ended: with a
// half-close when the source ended cleanly, so the answer can still come
// back, and by closing c when the copy failed (a reset, a closed peer, the
// idle reaper), so the other direction cannot hang on it.
func halfClose(c net.Conn, err error) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok && err == nil {
		_ = hc.CloseWrite()
		return
	}
	_ = c.Close()
}

// replayConn reads from r (bytes already read, then the connection).
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
