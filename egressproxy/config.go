package egressproxy

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is what a Proxy needs. The package reads nothing from the process
// environment: whoever builds a Config passes the tokens, the upstream proxy
// and the trust roots explicitly.
type Config struct {
	// Bottle is the bottle id: it appears in denials, events and metric labels.
	Bottle string
	// Routes is the initial table; Reload replaces it.
	Routes *schemas.RoutesFile
	// Tokens maps a slot name (EGRESS_TOKEN_N) to its value. Every auth slot
	// of every table must be filled. All values are also what the proxy
	// refuses to let the agent send.
	Tokens map[string]schemas.Secret
	// HostSecrets are values of the host environment that look like
	// secrets and that the bottle was not given. A request that carries
	// one (in any encoding Tokens are looked for in) is a DLP finding,
	// rule dlp.RuleKnownSecret, handled by its route's dlp policy. Like
	// Tokens, they never appear in a routes file, an event or a log.
	HostSecrets []schemas.Secret
	// CA signs the leaf certificates of MITM'd hosts.
	CA *CA
	// Publisher receives denial and reload events; nil keeps denials only in
	// the recent-denials ring.
	Publisher events.Publisher
	// UpstreamProxy, when set, carries all outbound traffic (plain http,
	// MITM'd https and passthrough tunnels). nil dials directly. The
	// environment's HTTP(S)_PROXY is never consulted.
	UpstreamProxy *url.URL
	// UpstreamRoots are trusted for upstream TLS in addition to the system
	// roots (a private registry, a test server).
	UpstreamRoots *x509.CertPool
	// Resolve overrides the address dialled for "host:port" with "ip:port".
	// An override is explicit, so it may point at loopback (tests, --resolve);
	// addresses found by DNS never may.
	Resolve map[string]string
	// LookupIP resolves a host name to addresses; nil uses the system
	// resolver. Tests use it to play DNS rebinding without DNS.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// Logger receives operational logs; nil discards them. Paths in logs
	// have their query strings redacted and never carry a token.
	Logger *slog.Logger
	// Registerer receives the proxy's metrics, labelled with the bottle id so
	// that several proxies can share one registry; nil gives the proxy a
	// registry of its own (see Proxy.Gatherer).
	Registerer prometheus.Registerer
	// Limits bounds what a client may make the proxy hold; zero fields take
	// the defaults of DefaultLimits.
	Limits Limits
}

// Limits bounds the resources one bottle can make its proxy use.
type Limits struct {
	// MaxHeaderBytes bounds a request's head (request line and headers).
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body; a larger one is refused (413).
	MaxBodyBytes int64
	// BodyBufferBytes is how much of a body is read and scanned before the
	// upstream is contacted; a body that fits is refused with a proper 403
	// when it carries a token, a longer one is scanned as it streams and the
	// upstream request is aborted.
	BodyBufferBytes int64
	// ReadHeaderTimeout bounds the time to read a request's head once its
	// first byte has arrived.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a connection that has seen no traffic either way
	// for this long while no request is waiting on the upstream.
	IdleTimeout time.Duration
	// ResponseTimeout bounds the wait for the upstream's response head, and
	// the silence of a connection whose request is waiting on it.
	ResponseTimeout time.Duration
	// DialTimeout bounds connecting to an upstream (or the upstream proxy).
	DialTimeout time.Duration
	// MaxConns bounds concurrent client connections; further ones wait in the
	// listen backlog.
	MaxConns int
	// MaxIdleUpstreamConns bounds the idle upstream connections kept for
	// reuse, per host.
	MaxIdleUpstreamConns int
	// MaxDecodedBytes bounds what a compressed request body may decode to
	// for scanning; a body that decodes to more is refused
	// (decoded_body_too_large), on every route.
	MaxDecodedBytes int64
	// DLPHoldTimeout bounds how long a request whose route's DLP policy is
	// supervise waits for the operator; then it is refused
	// (dlp_hold_timeout).
	DLPHoldTimeout time.Duration
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	MaxHeaderBytes:       64 << 10,
	MaxBodyBytes:         1 << 30,
	BodyBufferBytes:      1 << 20,
	ReadHeaderTimeout:    30 * time.Second,
	IdleTimeout:          5 * time.Minute,
	ResponseTimeout:      10 * time.Minute,
	DialTimeout:          30 * time.Second,
	MaxConns:             1024,
	MaxIdleUpstreamConns: 256,
	MaxDecodedBytes:      16 << 20,
	DLPHoldTimeout:       2 * time.Minute,
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.MaxBodyBytes > 0 {
		d.MaxBodyBytes = l.MaxBodyBytes
	}
	if l.BodyBufferBytes > 0 {
		d.BodyBufferBytes = l.BodyBufferBytes
	}
	if l.ReadHeaderTimeout > 0 {
		d.ReadHeaderTimeout = l.ReadHeaderTimeout
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.ResponseTimeout > 0 {
		d.ResponseTimeout = l.ResponseTimeout
	}
	if l.DialTimeout > 0 {
		d.DialTimeout = l.DialTimeout
	}
	if l.MaxConns > 0 {
		d.MaxConns = l.MaxConns
	}
	if l.MaxIdleUpstreamConns > 0 {
		d.MaxIdleUpstreamConns = l.MaxIdleUpstreamConns
	}
	if l.MaxDecodedBytes > 0 {
		d.MaxDecodedBytes = l.MaxDecodedBytes
	}
	if l.DLPHoldTimeout > 0 {
		d.DLPHoldTimeout = l.DLPHoldTimeout
	}
	if d.BodyBufferBytes > d.MaxBodyBytes {
		d.BodyBufferBytes = d.MaxBodyBytes
	}
	return d
}
