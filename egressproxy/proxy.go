package egressproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/elazarl/goproxy"
	"github.com/prometheus/client_golang/prometheus"
)

// Proxy is one bottle's egress proxy.
type Proxy struct {
	bottle string
	lim    Limits
	log    *slog.Logger
	pub    events.Publisher
	tokens map[string]schemas.Secret
	scan   *scanner
	dlp    *dlp.Detector // gitleaks' rules and the host secrets
	// hostSecrets are Config.HostSecrets, for the checks the detector does
	// not make (split across headers, excerpts).
	hostSecrets *dlp.Values
	supervisor  atomic.Pointer[Supervisor]
	certs       *certStore
	dial        *dialer
	tr          *http.Transport
	gp          *goproxy.ProxyHttpServer
	srv         *http.Server
	conns       *connTracker
	metrics     *metrics
	denials     denialRing
	table       atomic.Pointer[table]

	reloadMu    sync.Mutex           // serialises Reload (readers never take it)
	rt          goproxy.RoundTripper // p.roundTrip, made once
	mitm        *goproxy.ConnectAction
	passthrough *goproxy.ConnectAction
	reject      *goproxy.ConnectAction
	closed      atomic.Bool
}

// New builds a proxy for cfg. It fails when the routes table is invalid or
// names a token slot that cfg.Tokens does not fill, when there is no CA, or
// when the metrics cannot be registered.
func New(cfg Config) (*Proxy, error) {
	if cfg.CA == nil {
		return nil, errors.New("new egress proxy: no CA")
	}
	if cfg.Bottle == "" {
		return nil, errors.New("new egress proxy: no bottle id")
	}
	lim := cfg.Limits.withDefaults()
	p := &Proxy{bottle: cfg.Bottle, lim: lim, log: cfg.Logger, pub: cfg.Publisher, tokens: map[string]schemas.Secret{}}
	if p.log == nil {
		p.log = discardLogger
	}
	p.log = p.log.With("bottle", cfg.Bottle)
	for slot, tok := range cfg.Tokens {
		p.tokens[slot] = tok
	}
	p.scan = newScanner(p.tokens)
	if short := shortTokenSlots(p.tokens); len(short) > 0 {
		p.log.Warn("tokens too short to scan for: the agent could send them undetected", "slots", short)
	}
	var hostVals []string
	for _, v := range cfg.HostSecrets {
		if !v.IsZero() {
			hostVals = append(hostVals, v.Reveal())
		}
	}
	p.hostSecrets = dlp.NewValues(hostVals)
	det, err := dlp.NewDetector(p.hostSecrets)
	if err != nil {
		return nil, fmt.Errorf("new egress proxy for %q: %w", cfg.Bottle, err)
	}
	p.dlp = det
	t, err := compileTable(cfg.Routes, p.tokens)
	if err != nil {
		return nil, fmt.Errorf("new egress proxy for %q: %w", cfg.Bottle, err)
	}
	p.table.Store(t)
	if p.certs, err = newCertStore(cfg.CA); err != nil {
		return nil, fmt.Errorf("new egress proxy for %q: %w", cfg.Bottle, err)
	}
	upTLS := upstreamTLSConfig(cfg.UpstreamRoots)
	if p.dial, err = newDialer(cfg, lim, upTLS); err != nil {
		return nil, fmt.Errorf("new egress proxy for %q: %w", cfg.Bottle, err)
	}
	p.tr = newTransport(p.dial, lim, upTLS)
	p.conns = newConnTracker(lim)
	if p.metrics, err = newMetrics(cfg.Registerer, cfg.Bottle, func() float64 { return float64(len(p.conns.snapshot())) }); err != nil {
		p.conns.stopReaper()
		return nil, fmt.Errorf("new egress proxy: %w", err)
	}
	p.rt = goproxy.RoundTripperFunc(p.roundTrip)
	p.gp = p.newGoproxy()
	p.srv = &http.Server{
		Handler:           p.gp,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ConnContext:       withConn,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// newGoproxy assembles the goproxy server, overriding every default that
// matters, one line each.
func (p *Proxy) newGoproxy() *goproxy.ProxyHttpServer {
	gp := goproxy.NewProxyHttpServer()
	gp.Tr = p.tr                                         // ours: verified TLS, our dialer, no environment proxy
	gp.ConnectDial = nil                                 // NewProxyHttpServer may have set it from HTTPS_PROXY
	gp.ConnectDialWithReq = refuseConnectDial            // ConnectAccept is never used: passthrough tunnels are ours (passthrough.go)
	gp.CertStore = p.certs                               // our bounded leaf cache (the MITM action below uses it directly)
	gp.ConnectionErrHandler = p.connectionError          // log it; never goproxy's text 502 with the error inside
	gp.NonproxyHandler = http.HandlerFunc(p.serveDirect) // origin-form requests to the proxy: introspection
	gp.Logger = goproxyLogger{p}                         // goproxy's warnings to our logger, redacted
	gp.Verbose = false                                   // no per-request chatter
	gp.KeepHeader = false                                // never forward Proxy-Authorization
	gp.KeepAcceptEncoding = true                         // with Tr.DisableCompression: encodings pass end to end
	gp.KeepDestinationHeaders = false                    // responses carry the upstream's headers only
	gp.AllowHTTP2 = false                                // HTTP/1.1 towards the agent: one request path to check
	gp.PreventCanonicalization = false                   // canonical header names, so header checks see one spelling

	p.mitm = &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: p.mitmTLSConfig}          // our CA, never GoproxyCa
	p.passthrough = &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: p.servePassthrough} // ClientHello checked before dialling
	p.reject = &goproxy.ConnectAction{Action: goproxy.ConnectReject}                                  // with ctx.Resp set: the client reads our 403

	gp.OnRequest().HandleConnectFunc(p.handleConnect) // decides every CONNECT: MITM, tunnel or a 403
	gp.OnRequest().HandleConnectFunc(p.rejectConnect) // catch-all: goproxy's default when nobody decides is to tunnel
	gp.OnRequest().DoFunc(p.handleRequest)            // every plain-http and MITM'd request
	return gp
}

// Listen opens a listener for a proxy: "unix:/path" for a unix socket that
// only the owner can connect to (mode 0600), anything else a TCP host:port.
func Listen(addr string) (net.Listener, error) {
	return listen(addr)
}

// Serve accepts client connections on l until Shutdown or Close, and then
// returns http.ErrServerClosed. A proxy may serve several listeners.
func (p *Proxy) Serve(l net.Listener) error {
	if p.closed.Load() {
		return http.ErrServerClosed
	}
	return p.srv.Serve(&listener{Listener: l, t: p.conns, closed: make(chan struct{})})
}

// Shutdown stops accepting connections, lets requests in flight complete and
// closes connections as they fall idle. When ctx ends first, it closes
// everything left and returns ctx's error. Metrics are unregistered.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.closed.Store(true)
	err := p.srv.Shutdown(ctx)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for err == nil && p.conns.closeIdle() > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	p.stop()
	return err
}

// Close closes the listeners and every connection at once.
func (p *Proxy) Close() error {
	p.closed.Store(true)
	err := p.srv.Close()
	p.stop()
	return err
}

func (p *Proxy) stop() {
	p.conns.closeAll()
	p.conns.stopReaper()
	p.tr.CloseIdleConnections()
	p.metrics.unregister()
}

// Routes returns a copy of the live routes table (slots, never tokens).
func (p *Proxy) Routes() *schemas.RoutesFile {
	return cloneRoutes(p.table.Load().file)
}

// RoutesDigest returns the digest of the live table (see RoutesFile.Digest).
func (p *Proxy) RoutesDigest() string { return p.table.Load().digest }

// RecentDenials returns up to n of the bottle's most recent denials, oldest
// first.
func (p *Proxy) RecentDenials(n int) []schemas.Denial { return p.denials.last(n) }

// Gatherer returns the proxy's own metrics registry, or nil when Config
// named a Registerer.
func (p *Proxy) Gatherer() prometheus.Gatherer { return p.metrics.gatherer }

// Bottle returns the bottle id.
func (p *Proxy) Bottle() string { return p.bottle }

func cloneRoutes(rf *schemas.RoutesFile) *schemas.RoutesFile {
	out := &schemas.RoutesFile{Version: rf.Version, Routes: make([]schemas.RouteRule, len(rf.Routes))}
	for i, r := range rf.Routes {
		c := r
		c.PathAllowlist = append([]string(nil), r.PathAllowlist...)
		c.Methods = append([]string(nil), r.Methods...)
		if r.Auth != nil {
			a := *r.Auth
			c.Auth = &a
		}
		out.Routes[i] = c
	}
	return out
}

type connCtxKey struct{}

// withConn puts the tracked connection in every request's context, so the
// CONNECT handler can mark it as hijacked.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*trackedConn); ok {
		return context.WithValue(ctx, connCtxKey{}, tc)
	}
	return ctx
}

func connOf(req *http.Request) *trackedConn {
	tc, _ := req.Context().Value(connCtxKey{}).(*trackedConn)
	return tc
}
