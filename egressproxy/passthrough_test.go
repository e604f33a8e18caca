package egressproxy

import (
	"bufio"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/crypto/cryptobyte"
)

// frontedUpstream is a TLS server, as a CDN edge would be, that serves an
// allowed name and another one (evil.test) and accepts Encrypted Client
// Hello with public name pass.allowed.test. It counts the connections it
// accepts and answers with the server name it served.
type frontedUpstream struct {
	srv     *httptest.Server
	conns   atomic.Int32
	echList []byte // the ECHConfigList a client needs
}

func newFrontedUpstream(t *testing.T, f *fixture) *frontedUpstream {
	t.Helper()
	u := &frontedUpstream{}
	echConfig, echKey := makeECHConfig(t, "pass.allowed.test")
	u.echList = echConfigList(echConfig)
	leaf := f.pki.Leaf(t, "pass.allowed.test", "evil.test")
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served %s", r.TLS.ServerName)
	}))
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.srv.Config.ErrorLog = nil
	u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf},
		EncryptedClientHelloKeys: []tls.EncryptedClientHelloKey{{Config: echConfig, PrivateKey: echKey, SendAsRetry: true}}}
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

// makeECHConfig builds an ECHConfig (RFC 9849 4) for DHKEM(X25519),
// HKDF-SHA256 and AES-128-GCM, and returns it with its private key.
func makeECHConfig(t testing.TB, publicName string) (config, key []byte) {
	t.Helper()
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var b cryptobyte.Builder
	b.AddUint16(extECH) // version
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(7)       // config_id
		b.AddUint16(0x0020) // DHKEM(X25519, HKDF-SHA256)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(priv.PublicKey().Bytes()) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0001) // HKDF-SHA256
			b.AddUint16(0x0001) // AES-128-GCM
		})
		b.AddUint8(0) // maximum_name_length
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(publicName)) })
		b.AddUint16(0) // no extensions
	})
	return b.BytesOrPanic(), priv.Bytes()
}

func echConfigList(configs ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range configs {
			b.AddBytes(c)
		}
	})
	return b.BytesOrPanic()
}

// tlsThrough opens a CONNECT tunnel to authority and runs a TLS client
// with cfg in it; it returns the handshake's error, and on success the
// response to GET / (or the error reading it).
func (f *fixture) tlsThrough(authority string, cfg *tls.Config) (resp *http.Response, body []byte, err error) {
	f.t.Helper()
	c, br := f.rawTunnel(authority)
	tc := tls.Client(&bufferedConn{Conn: c, r: br}, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", cfg.ServerName)
	resp, err = http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp, body, err
}

// lastDenial returns the reason of the proxy's most recent denial.
func (f *fixture) lastDenial() string {
	d := f.proxy.RecentDenials(1)
	if len(d) == 0 {
		return ""
	}
	return d[0].Reason
}

// TestAttackDomainFrontingThroughPassthrough is issue #12 leak 1: a CONNECT
// to a tls_passthrough host must not carry a ClientHello that names, or
// hides, another server behind the same edge. Each refusal is a denial,
// and the upstream never sees a connection for it.
func TestAttackDomainFrontingThroughPassthrough(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	up := newFrontedUpstream(t, f)
	f.proxy.dial.resolve["pass.allowed.test:443"] = up.srv.Listener.Addr().String()

	// SNI naming another host (Go's client).
	resp, body, err := f.tlsThrough("pass.allowed.test:443", &tls.Config{ServerName: "evil.test", RootCAs: f.roots})
	if err != nil {
		t.Fatalf("SNI evil.test: %v", err)
	}
	wantReason(t, resp, body, ReasonSNIMismatch)
	// The same name in other case, with a trailing dot (which Go drops
	// from SNI): that is the CONNECT host.
	resp, body, err = f.tlsThrough("pass.allowed.test:443", &tls.Config{ServerName: "PASS.allowed.test.", RootCAs: f.roots})
	if err != nil || resp.StatusCode != 200 || string(body) != "served PASS.allowed.test" {
		t.Fatalf("SNI in another spelling: %v %v %q", err, resp, body)
	}
	if n := up.conns.Swap(0); n != 1 {
		t.Fatalf("upstream saw %d connections, want only the admitted one", n)
	}

	// No SNI at all.
	resp, body, err = f.tlsThrough("pass.allowed.test:443", &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("no SNI: %v", err)
	}
	wantReason(t, resp, body, ReasonSNIMissing)

	// Encrypted Client Hello: the outer hello names the allowed host, the
	// inner one evil.test.
	_, _, err = f.tlsThrough("pass.allowed.test:443", &tls.Config{ServerName: "evil.test", RootCAs: f.roots,
		MinVersion: tls.VersionTLS13, EncryptedClientHelloConfigList: up.echList})
	if err == nil || f.lastDenial() != ReasonECH.String() {
		t.Fatalf("ECH: %v, last denial %q", err, f.lastDenial())
	}

	// Not TLS at all.
	c, br := f.rawTunnel("pass.allowed.test:443")
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: pass.allowed.test\r\n\r\n")
	if b, _ := io.ReadAll(br); len(b) != 0 || f.lastDenial() != ReasonNotTLS.String() {
		t.Fatalf("cleartext in a passthrough tunnel: read %q, last denial %q", b, f.lastDenial())
	}

	// curl: --connect-to sends the CONNECT to the allowed host and the
	// other name in TLS; an IP address URL sends no SNI.
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	os.WriteFile(bundle, append(f.ca.CertPEM(), f.pki.CertPEM()...), 0o644)
	curl := func(args ...string) string {
		out, _ := run(t, "", nil, "curl", append([]string{"-sS", "--max-time", "30", "--proxy", f.proxyURL.String(), "--cacert", bundle}, args...)...)
		return out
	}
	if out := curl("--connect-to", "evil.test:443:pass.allowed.test:443", "https://evil.test/"); !strings.Contains(out, `"reason":"sni_mismatch"`) {
		t.Fatalf("curl fronting: %s", out)
	}
	if out := curl("-k", "--connect-to", "127.0.0.1:443:pass.allowed.test:443", "https://127.0.0.1/"); !strings.Contains(out, `"reason":"sni_missing"`) {
		t.Fatalf("curl without SNI: %s", out)
	}
	if out := curl("https://pass.allowed.test/"); out != "served pass.allowed.test" {
		t.Fatalf("curl through the passthrough: %s", out)
	}
	// Node: a CONNECT to the allowed host, then TLS naming another.
	if _, err := exec.LookPath("node"); err != nil {
		testreq.Missing(t, "node", err)
	}
	script := `
const http = require('http'), tls = require('tls');
const [proxy, host, sni] = process.argv.slice(1);
const [ph, pp] = proxy.split(':');
http.request({host: ph, port: pp, method: 'CONNECT', path: host + ':443'}).on('connect', (res, socket) => {
  const s = tls.connect({socket, servername: sni}, () => {
    s.write('GET / HTTP/1.1\r\nHost: ' + sni + '\r\nConnection: close\r\n\r\n');
  });
  let raw = ''; s.on('data', d => raw += d);
  s.on('end', () => console.log(raw));
  s.on('error', e => { console.log('tls error', e.message); process.exit(1); });
}).end();`
	out, err := run(t, "", []string{"NODE_EXTRA_CA_CERTS=" + bundle}, "node", "-e", script, f.proxyURL.Host, "pass.allowed.test", "evil.test")
	if err != nil || !strings.HasPrefix(out, "HTTP/1.1 403") || !strings.Contains(out, `"reason":"sni_mismatch"`) {
		t.Fatalf("node fronting: %v %s", err, out)
	}
	if n := up.conns.Load(); n != 1 {
		t.Fatalf("upstream saw %d connections for refused hellos", n-1)
	}

	// Every refusal was published as a denial event.
	want := map[string]int{}
	for _, r := range []Reason{ReasonSNIMismatch, ReasonSNIMissing, ReasonECH, ReasonNotTLS} {
		want[r.String()] = 0
	}
	for _, ev := range f.pub.Events() {
		var d schemas.Denial
		if ev.Kind == schemas.KindDenial && ev.Decode(&d) == nil {
			if _, ok := want[d.Reason]; ok {
				want[d.Reason]++
			}
		}
	}
	for r, n := range want {
		if n == 0 {
			t.Errorf("no %s denial event", r)
		}
	}
}
