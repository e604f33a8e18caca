package egressproxy

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// teeListener keeps every byte its connections receive.
type teeListener struct {
	net.Listener
	mu  sync.Mutex
	got bytes.Buffer
}

func (l *teeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &teeConn{Conn: c, l: l}, nil
}

func (l *teeListener) received() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.got.Bytes())
}

type teeConn struct {
	net.Conn
	l *teeListener
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.got.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// clientHello13 builds a TLS 1.3 ClientHello record offering P-256 and
// X25519 with a key share for group only.
func clientHello13(sni string, group uint16, share, random, sessionID []byte) []byte {
	var hs cryptobyte.Builder
	hs.AddUint8(handshakeClientHello)
	hs.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(tls.VersionTLS12)
		b.AddBytes(random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(tls.TLS_AES_128_GCM_SHA256) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			ext := func(typ uint16, body func(b *cryptobyte.Builder)) {
				b.AddUint16(typ)
				b.AddUint16LengthPrefixed(body)
			}
			ext(extServerName, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(0)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(sni)) })
				})
			})
			ext(10, func(b *cryptobyte.Builder) { // supported_groups
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(uint16(tls.CurveP256)); b.AddUint16(uint16(tls.X25519)) })
			})
			ext(13, func(b *cryptobyte.Builder) { // signature_algorithms
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16(uint16(tls.ECDSAWithP256AndSHA256))
					b.AddUint16(uint16(tls.PSSWithSHA256))
				})
			})
			ext(43, func(b *cryptobyte.Builder) { // supported_versions
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(tls.VersionTLS13) })
			})
			ext(51, func(b *cryptobyte.Builder) { // key_share
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16(group)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(share) })
				})
			})
		})
	})
	msg := hs.BytesOrPanic()
	return append([]byte{recordTypeHandshake, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// hrrUpstream is a real TLS 1.3 server that wants P-256 key shares (so a
// client that offers only X25519 gets a HelloRetryRequest) and keeps what
// it receives.
func hrrUpstream(t *testing.T, f *fixture) (*httptest.Server, *teeListener) {
	leaf := f.pki.Leaf(t, "pass.allowed.test", "evil.test")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served %s", r.TLS.ServerName)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is what the test provokes
	tee := &teeListener{Listener: srv.Listener}
	srv.Listener = tee
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP256}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, tee
}

// TestAttackFrontingAfterHelloRetryRequest: the second ClientHello, sent
// after the server's HelloRetryRequest, is checked like the first, so a
// client cannot pass with one name and front with another.
func TestAttackFrontingAfterHelloRetryRequest(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	srv, tee := hrrUpstream(t, f)
	f.proxy.dial.resolve["pass.allowed.test:443"] = srv.Listener.Addr().String()

	// A real client through an HRR: it works.
	resp, body, err := f.tlsThrough("pass.allowed.test:443", &tls.Config{ServerName: "pass.allowed.test", RootCAs: f.roots,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}})
	if err != nil || resp.StatusCode != 200 || string(body) != "served pass.allowed.test" {
		t.Fatalf("a client that gets a HelloRetryRequest: %v %v %q", err, resp, body)
	}

	// The attack: the allowed name first, evil.test after the HRR.
	random, sid := make([]byte, 32), make([]byte, 32)
	rand.Read(random)
	rand.Read(sid)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	p, _ := ecdh.P256().GenerateKey(rand.Reader)
	c, br := f.rawTunnel("pass.allowed.test:443")
	c.Write(clientHello13("pass.allowed.test", uint16(tls.X25519), x.PublicKey().Bytes(), random, sid))
	if _, hrr, err := readServerFirst(br); err != nil || !hrr {
		t.Fatalf("the upstream did not ask for a new hello: %v %v", hrr, err)
	}
	c.Write([]byte{20, 3, 3, 0, 1, 1}) // change_cipher_spec, as TLS 1.3 clients send for middleboxes
	c.Write(clientHello13("evil.test", uint16(tls.CurveP256), p.PublicKey().Bytes(), random, sid))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, _ := io.ReadAll(bufio.NewReader(br))
	if f.lastDenial() != ReasonSNIMismatch.String() {
		t.Fatalf("second hello naming evil.test: last denial %q; read %d bytes", f.lastDenial(), len(rest))
	}
	if bytes.Contains(tee.received(), []byte("evil.test")) {
		t.Fatalf("the upstream received the second hello naming evil.test")
	}
}
