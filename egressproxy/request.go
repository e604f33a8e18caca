package egressproxy

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/elazarl/goproxy"
)

// reqState follows one request from the request handler through the round
// tripper to the end of its response.
type reqState struct {
	conn     *trackedConn
	decision Decision
	body     *scanBody // the streaming body scanner, when the body was too long to buffer
	// injected is set when the request carries the route's credential:
	// its response is masked for that credential on the way back.
	injected bool
	// websocket is set for an admitted WebSocket handshake: a 101 to it
	// is relayed through a wsRelay (see upgrade.go).
	websocket bool
	// closeConn closes a MITM'd connection once a refusal is written,
	// rather than let goproxy drain a body the proxy will not forward
	// (net/http bounds that drain for plain requests itself).
	closeConn bool
}

func (s *reqState) done() {
	s.conn.requestDone()
	if s.closeConn && s.conn != nil {
		_ = s.conn.Close()
	}
}

// closeAfterRefusal marks the connection to close after the refusal when
// the agent's body was not read to its end.
func (s *reqState) closeAfterRefusal(req *http.Request, resp *http.Response) {
	if req.Body == nil || req.Body == http.NoBody || (req.ContentLength == 0 && len(req.TransferEncoding) == 0) {
		return
	}
	resp.Close = true
	if s.conn != nil && connKind(s.conn.kind.Load()) == kindMITM {
		s.closeConn = true
	}
}

// handleRequest checks every plain-http proxy request and every request
// inside a MITM'd tunnel. A refused request gets its refusal as the response
// and never reaches an upstream; an admitted one leaves with the agent's
// credentials stripped, the route's injected and its body under scan.
func (p *Proxy) handleRequest(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	tun, _ := ctx.UserData.(*tunnel)
	st := &reqState{}
	if tun != nil {
		st.conn = tun.conn
		p.metrics.request(kindLabelMITM)
	} else {
		st.conn = connOf(req)
		p.metrics.request(kindLabelHTTP)
	}
	st.conn.requestStarted()
	ctx.UserData = st // this request's ctx only; the tunnel keeps its own

	if tun != nil && tun.denied != nil {
		return req, p.answerDeniedTunnel(req, tun, st)
	}
	d, r, introspect := p.decide(req, tun)
	st.decision = d
	if !d.Allow {
		return req, p.refuseRequest(req, d, st)
	}
	if introspect {
		return req, p.introspect(req, st.done)
	}
	// The agent's credentials never leave; the route's go in their place.
	req.Header.Del("Authorization")
	req.Header.Del("Proxy-Authorization")
	if p.headersCarryToken(req.Header) {
		return req, p.refuseRequest(req, deny(d, ReasonTokenInHeader), st)
	}
	ws, reason := checkUpgrade(req.Header, r)
	if reason != ReasonAllowed {
		return req, p.refuseRequest(req, deny(d, reason), st)
	}
	if ws {
		st.websocket = true
		req.Header.Del("Sec-WebSocket-Extensions") // frames stay uncompressed, so readable (upgrade.go)
	}
	reason, bd := prepareBody(req, p.scan, p.dlp, p.lim)
	if reason != ReasonAllowed {
		return req, p.refuseRequest(req, deny(d, reason), st)
	}
	st.body = bd.stream
	if fs := p.scanDLP(req, &bd); len(fs) > 0 {
		if d, refused := p.applyDLP(req, d, r, &bd, fs); refused {
			return req, p.refuseRequest(req, d, st)
		}
	}
	if !r.auth.IsZero() {
		req.Header.Set("Authorization", r.auth.Reveal())
		// The response is scanned for the credential it might echo (see
		// reflect.go): ask for it uncompressed.
		req.Header.Del("Accept-Encoding")
		st.injected = true
	}
	req.Trailer = nil // trailers arrive after the checks: none are forwarded
	p.metrics.decision(ReasonAllowed)
	ctx.RoundTripper = p.rt
	return req, nil
}

// answerDeniedTunnel answers a request inside a tunnel whose CONNECT was
// refused with that CONNECT's denial, showing this request's method and
// path (query and tokens redacted), records it as that request, and closes
// the tunnel. A further request in the same tunnel (HTTP/2 streams) gets a
// denial of its own.
func (p *Proxy) answerDeniedTunnel(req *http.Request, tun *tunnel, st *reqState) *http.Response {
	dt := tun.denied
	d := dt.d
	d.rawPath, d.rawQuery, _ = splitTarget(req.RequestURI)
	d.Method = req.Method
	den := p.denialOf(d)
	first := false
	dt.recorded.Do(func() { first = true })
	if first {
		den.ID = dt.den.ID // the id is the tunnel's; the fact is the request's
	}
	p.emit(d, den)
	resp := denialResponse(req, d.Reason.Status(), den, st.done)
	// One answer per refused tunnel: the client's next try opens a new
	// CONNECT, which sees the table as it is then (after an approval, say)
	// instead of a tunnel refused under the old one.
	resp.Close, st.closeConn = true, true
	return resp
}

// refuseRequest answers a refused request. When the agent's body was not
// read, the connection is closed after the answer rather than drained.
func (p *Proxy) refuseRequest(req *http.Request, d Decision, st *reqState) *http.Response {
	resp := p.refuse(req, d, st.done)
	st.closeAfterRefusal(req, resp)
	return resp
}

// decide checks everything about a request that needs no body: the host it
// names, the route, the path, the method, git pushes and tokens in the URL.
// On success it also rewrites the request's host to its canonical form, so
// what is forwarded is exactly what was checked.
func (p *Proxy) decide(req *http.Request, tun *tunnel) (d Decision, r *route, introspect bool) {
	d.Method = req.Method
	rawPath, rawQuery, targetOK := splitTarget(req.RequestURI)
	d.rawPath, d.rawQuery = rawPath, rawQuery // shown (redacted) only if refused

	scheme := req.URL.Scheme
	defPort := schemePort(scheme)
	var host string
	var port int
	if tun != nil {
		host, port = tun.host, tun.port
		d.Host, d.Port = host, port
		if !sameAuthorityOrEmpty(req.URL.Host, host, port) || !sameAuthorityOrEmpty(req.Host, host, port) {
			return deny(d, ReasonHostMismatch), nil, false
		}
		for _, v := range req.Header.Values("Host") {
			if !sameAuthorityOrEmpty(v, host, port) {
				return deny(d, ReasonHostMismatch), nil, false
			}
		}
		defPort = 443 // a CONNECT's default, whatever the tunnel carries
	} else {
		h, ps, ok := splitAuthority(req.URL.Host)
		if !ok || defPort == 0 {
			d.Host = req.URL.Host
			return deny(d, ReasonBadRequest), nil, false
		}
		host, port = schemas.NormalizeHost(h), defPort
		if ps != "" {
			port, _ = strconv.Atoi(ps)
		}
		d.Host, d.Port = host, port
		if req.Host != "" && !sameAuthority(req.Host, host, port) {
			return deny(d, ReasonHostMismatch), nil, false
		}
	}
	if !targetOK {
		return deny(d, ReasonBadRequest), nil, false
	}
	if host == IntrospectionHost {
		return allow(d, &route{host: host}), nil, true
	}
	if schemas.IsIPLiteral(host) {
		return deny(d, ReasonIPLiteral), nil, false
	}
	r, reason := p.table.Load().lookup(host, port, defPort)
	if reason != ReasonAllowed {
		return deny(d, reason), nil, false
	}
	path, ok := normalizePath(rawPath)
	if !ok || (rawPath != "/" && req.URL.EscapedPath() != rawPath) {
		return deny(d, ReasonPathNotNormal), nil, false
	}
	if p.scan.foundString(req.RequestURI) {
		return deny(d, ReasonTokenInURL), nil, false
	}
	if isGitPush(path, rawQuery, req.Header) {
		return deny(d, ReasonGitPush), nil, false
	}
	if reason := r.admits(req.Method, path); reason != ReasonAllowed {
		return deny(d, reason), nil, false
	}
	if !r.auth.IsZero() && scheme != "https" {
		// Plain http, or cleartext inside a CONNECT tunnel (goproxy marks
		// it "http"): the credential would cross the network unencrypted.
		// Checked last, so a request refused on other grounds says so.
		return deny(d, ReasonCleartextCredential), nil, false
	}
	authority := host
	if port != schemePort(scheme) {
		authority = net.JoinHostPort(host, strconv.Itoa(port))
	}
	req.URL.Host, req.Host, req.URL.User = authority, authority, nil
	return allow(d, r), r, false
}

// splitTarget splits a request target, origin-form ("/p?q") or absolute
// ("http://h/p?q"), into its path as sent ("/" when empty) and its query.
func splitTarget(uri string) (path, query string, ok bool) {
	if !strings.HasPrefix(uri, "/") {
		i := strings.Index(uri, "://")
		if i <= 0 {
			return "", "", false
		}
		rest := uri[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 {
			return "/", "", true
		}
		uri = rest[j:]
		if uri[0] == '?' {
			uri = "/" + uri
		}
	}
	path, query, _ = strings.Cut(uri, "?")
	return path, query, true
}

// splitAuthority splits "host[:port]" (IPv6 in brackets).
func splitAuthority(a string) (host, port string, ok bool) {
	if a == "" {
		return "", "", false
	}
	if h, p, err := net.SplitHostPort(a); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", false
		}
		return h, p, h != ""
	}
	if strings.Contains(a, ":") && !strings.HasPrefix(a, "[") {
		return "", "", false
	}
	return strings.Trim(a, "[]"), "", true
}

// schemePort is the default port of an http or https URL; 0 for others.
func schemePort(scheme string) int {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

func sameAuthorityOrEmpty(v, host string, port int) bool {
	return v == "" || sameAuthority(v, host, port)
}

// sameAuthority reports whether a Host value names host (normalised) and,
// if it carries a port, port.
func sameAuthority(v, host string, port int) bool {
	h, ps, ok := splitAuthority(v)
	if !ok || schemas.NormalizeHost(h) != host {
		return false
	}
	return ps == "" || ps == strconv.Itoa(port)
}

// isGitPush reports whether a request belongs to a git push over HTTP: the
// receive-pack endpoint, its advertisement (?service=git-receive-pack) or
// its request body type.
func isGitPush(path, rawQuery string, h http.Header) bool {
	const rp = "git-receive-pack"
	last := path[strings.LastIndexByte(path, '/')+1:]
	if strings.EqualFold(last, rp) {
		return true
	}
	if q := strings.ToLower(rawQuery); strings.Contains(q, rp) || strings.Contains(string(percentDecode([]byte(q))), rp) {
		return true
	}
	return strings.Contains(strings.ToLower(h.Get("Content-Type")), rp)
}

// displayPath is the path as a denial or a log shows it: as sent, any token
// redacted, the query replaced by "?[redacted]".
func (p *Proxy) displayPath(rawPath, rawQuery string) string {
	s := p.scan.redactPath(rawPath)
	if rawQuery != "" {
		s += schemas.RedactedQuery
	}
	return s
}

var headerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// headersCarryToken reports whether any header name or value carries one of
// the proxy's tokens.
func (p *Proxy) headersCarryToken(h http.Header) bool {
	if !p.scan.enabled() {
		return false
	}
	buf := headerBufs.Get().(*bytes.Buffer)
	defer headerBufs.Put(buf)
	buf.Reset()
	for k := range h {
		for i := 0; i < len(k); i++ {
			c := k[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf.WriteByte(c)
		}
		buf.WriteByte('\n')
	}
	if p.scan.foundLower(buf.Bytes()) {
		return true
	}
	buf.Reset()
	for k, vs := range h {
		for _, v := range vs {
			buf.WriteString(k)
			buf.WriteString(": ")
			buf.WriteString(v)
			buf.WriteByte(0) // not a line break: that would make every scan decode a view
		}
	}
	if p.scan.found(buf.Bytes()) {
		return true
	}
	buf.Reset()
	var ends [32]int
	at := ends[:0]
	for _, vs := range h {
		for _, v := range vs {
			buf.WriteString(v)
			at = append(at, buf.Len())
		}
	}
	all := buf.Bytes()
	var partsArr [32][]byte
	parts := partsArr[:0]
	from := 0
	for _, end := range at {
		parts = append(parts, all[from:end])
		from = end
	}
	return p.scan.foundSplit(parts)
}
