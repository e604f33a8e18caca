package egressproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// blockedAddrError reports that a host resolved only to addresses the proxy
// never dials. It becomes a blocked_address denial.
type blockedAddrError struct {
	host  string
	addrs []netip.Addr
}

func (e *blockedAddrError) Error() string {
	return fmt.Sprintf("dial %s: resolves only to blocked addresses %v", e.host, e.addrs)
}

// dialError marks an error that happened while opening an upstream
// connection, before any byte of a tunnel was relayed.
type dialError struct {
	addr string
	err  error
}

func (e *dialError) Error() string { return fmt.Sprintf("dial %s: %v", e.addr, e.err) }
func (e *dialError) Unwrap() error { return e.err }

// dialer opens every upstream connection of a proxy. It resolves names
// itself so it can refuse loopback, private, link-local and metadata
// addresses after resolution; only explicit Resolve overrides and the
// configured upstream proxy bypass that check.
type dialer struct {
	net       net.Dialer
	resolve   map[string]string // normalised "host:port" -> "ip:port"
	lookup    func(ctx context.Context, host string) ([]netip.Addr, error)
	upstream  *url.URL // nil: direct
	upAddr    string   // upstream proxy "host:port"
	upTLS     *tls.Config
	upTimeout time.Duration
}

func newDialer(cfg Config, lim Limits, upTLS *tls.Config) (*dialer, error) {
	d := &dialer{
		net:       net.Dialer{Timeout: lim.DialTimeout, KeepAlive: 30 * time.Second},
		resolve:   map[string]string{},
		lookup:    cfg.LookupIP,
		upTLS:     upTLS,
		upTimeout: lim.DialTimeout,
	}
	if d.lookup == nil {
		d.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	for from, to := range cfg.Resolve {
		h, p, err := net.SplitHostPort(from)
		if err != nil {
			return nil, fmt.Errorf("resolve override %q: want host:port: %w", from, err)
		}
		if _, _, err := net.SplitHostPort(to); err != nil {
			return nil, fmt.Errorf("resolve override %q=%q: want ip:port: %w", from, to, err)
		}
		d.resolve[net.JoinHostPort(schemas.NormalizeHost(h), p)] = to
	}
	if u := cfg.UpstreamProxy; u != nil {
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("upstream proxy %s: scheme must be http or https", u.Redacted())
		}
		if u.Hostname() == "" {
			return nil, fmt.Errorf("upstream proxy %s: no host", u.Redacted())
		}
		d.upstream = u
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		d.upAddr = net.JoinHostPort(u.Hostname(), port)
	}
	return d, nil
}

// DialContext dials addr ("host:port") for the transport and for
// passthrough tunnels.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.upstream != nil && addr == d.upAddr {
		// The operator named this proxy: it may well be on a private network.
		return d.net.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &dialError{addr, err}
	}
	host = schemas.NormalizeHost(host)
	if to, ok := d.resolve[net.JoinHostPort(host, port)]; ok {
		c, err := d.net.DialContext(ctx, network, to)
		if err != nil {
			return nil, &dialError{addr, err}
		}
		return c, nil
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = d.lookup(ctx, host); err != nil {
		return nil, &dialError{addr, err}
	}
	var allowed []netip.Addr
	for _, a := range addrs {
		if !isBlockedAddr(a) {
			allowed = append(allowed, a)
		}
	}
	if len(allowed) == 0 {
		return nil, &blockedAddrError{host: host, addrs: addrs}
	}
	var firstErr error
	for _, a := range allowed {
		c, err := d.net.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &dialError{addr, firstErr}
}

// dialTunnel opens the upstream end of a passthrough tunnel: directly, or
// through the upstream proxy with a CONNECT of its own.
func (d *dialer) dialTunnel(ctx context.Context, addr string) (net.Conn, error) {
	if d.upstream == nil {
		return d.DialContext(ctx, "tcp", addr)
	}
	c, err := d.connectViaUpstream(ctx, addr)
	if err != nil {
		return nil, &dialError{addr, fmt.Errorf("via upstream proxy %s: %w", d.upAddr, err)}
	}
	return c, nil
}

func (d *dialer) connectViaUpstream(ctx context.Context, addr string) (net.Conn, error) {
	c, err := d.net.DialContext(ctx, "tcp", d.upAddr)
	if err != nil {
		return nil, err
	}
	if d.upstream.Scheme == "https" {
		cfg := d.upTLS.Clone()
		cfg.ServerName = d.upstream.Hostname()
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	deadline := time.Now().Add(d.upTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := d.upstream.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, errors.New("upstream proxy answered CONNECT with " + resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// bufferedConn is a connection whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
