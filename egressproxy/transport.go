package egressproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"time"
)

// newTransport builds the one http.Transport all of a proxy's MITM'd and
// plain-http requests go out through. Every field that matters is set here,
// so nothing comes from the environment or from goproxy's defaults.
func newTransport(d *dialer, lim Limits, tlsCfg *tls.Config) *http.Transport {
	tr := &http.Transport{
		Proxy:                  nil,           // never HTTP(S)_PROXY from the environment; see below
		DialContext:            d.DialContext, // resolution with the blocked-address check, Resolve overrides
		TLSClientConfig:        tlsCfg,        // system roots + UpstreamRoots, verified
		TLSHandshakeTimeout:    15 * time.Second,
		ResponseHeaderTimeout:  lim.ResponseTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           0,                        // no global cap: per host below
		MaxIdleConnsPerHost:    lim.MaxIdleUpstreamConns, // reuse upstream connections across client connections
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,  // pass Accept-Encoding and the encoded body through untouched
		ForceAttemptHTTP2:      false, // HTTP/1.1 upstream: measured faster per request than Go's h2 client (bench/proxyload), and pooled
	}
	if d.upstream != nil {
		tr.Proxy = http.ProxyURL(d.upstream) // the configured upstream proxy, for http and https alike
	}
	return tr
}

// upstreamTLSConfig verifies upstream certificates against the system roots
// and, when given, extra roots as well. crypto/tls can only verify against
// one pool, and a system pool cannot be extended without copying it, so with
// extra roots the standard verification is replaced by VerifyConnection,
// which runs the same x509 verification against each pool in turn.
func upstreamTLSConfig(extra *x509.CertPool) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(256)}
	if extra == nil {
		return cfg
	}
	cfg.InsecureSkipVerify = true // verification happens in VerifyConnection, never skipped
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("upstream presented no certificate")
		}
		if cs.ServerName == "" {
			return errors.New("upstream TLS without a server name cannot be verified")
		}
		opts := x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: x509.NewCertPool(), Roots: extra}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err == nil {
			return nil
		}
		opts.Roots = nil // the system roots
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
	return cfg
}
