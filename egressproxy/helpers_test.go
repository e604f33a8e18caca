package egressproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/net/websocket"
)

// testToken is the credential the tests give the proxy. Outputs are checked
// for it (and for its encodings) everywhere.
const testToken = "ghp_TESTtoken0123456789abcdefSECRET"

// seen is one request as an upstream received it.
type seen struct {
	Method, URI, Host string
	Header            http.Header
	Body              []byte
}

// upstream is a real server on loopback that records what reaches it.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func (u *upstream) record(r *http.Request, body []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reqs = append(u.reqs, seen{r.Method, r.RequestURI, r.Host, r.Header.Clone(), body})
}

func (u *upstream) seen() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

func (u *upstream) addr() string { return u.srv.Listener.Addr().String() }

// newUpstream starts a TLS (or, with tlsCert nil, plain) upstream. Its
// handler echoes what it saw; /ws is a WebSocket echo; /slow waits for
// release; extra handlers may be added by path.
func newUpstream(t testing.TB, tlsCert *tls.Certificate, extra map[string]http.Handler) *upstream {
	t.Helper()
	u := &upstream{}
	mux := http.NewServeMux()
	mux.Handle("/ws", websocket.Handler(func(c *websocket.Conn) {
		var msg string
		if err := websocket.Message.Receive(c, &msg); err == nil {
			_ = websocket.Message.Send(c, "echo:"+msg)
		}
	}))
	for p, h := range extra {
		mux.Handle(p, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.record(r, body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "ok %s %s host=%s auth=%q len=%d", r.Method, r.RequestURI, r.Host, r.Header.Get("Authorization"), len(body))
	})
	u.srv = httptest.NewUnstartedServer(mux)
	u.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS errors are what some tests provoke
	if tlsCert != nil {
		u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
		u.srv.StartTLS()
	} else {
		u.srv.Start()
	}
	t.Cleanup(u.srv.Close)
	return u
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a proxy on loopback with an upstream for api.allowed.test and
// a client that trusts the proxy's CA.
type fixture struct {
	t        testing.TB
	proxy    *Proxy
	proxyURL *url.URL
	ca       *CA
	pki      *testpki.PKI
	up       *upstream // https, api.allowed.test and friends
	plain    *upstream // http, plain.allowed.test
	pub      *events.Memory
	logs     *syncBuffer
	client   *http.Client
	roots    *x509.CertPool
	resolve  map[string]string
}

var defaultRoutes = []schemas.RouteRule{
	{Host: "api.allowed.test", PathAllowlist: []string{"/repos/myorg/", "/exact", "/git/", "GET /readonly"}, Methods: []string{"GET", "POST", "HEAD"},
		Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
	{Host: "open.allowed.test"},
	{Host: "basic.allowed.test", Auth: &schemas.SlotAuth{Scheme: "Basic", Slot: "EGRESS_TOKEN_1"}},
	{Host: "tok.allowed.test", Auth: &schemas.SlotAuth{Scheme: "token", Slot: "EGRESS_TOKEN_0"}},
	{Host: "plain.allowed.test"},
	{Host: "port.allowed.test", Port: 8443},
	{Host: "pass.allowed.test", TLSPassthrough: true},
}

var upstreamNames = []string{"api.allowed.test", "open.allowed.test", "basic.allowed.test", "tok.allowed.test",
	"port.allowed.test", "pass.allowed.test", "evil.test", "other.allowed.test"}

func newFixture(t testing.TB, routes []schemas.RouteRule, opts ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, pki: testpki.New(t), pub: &events.Memory{}, logs: &syncBuffer{}}
	leaf := f.pki.Leaf(t, upstreamNames...)
	f.up = newUpstream(t, &leaf, nil)
	f.plain = newUpstream(t, nil, nil)
	var err error
	if f.ca, err = NewCA(); err != nil {
		t.Fatal(err)
	}
	f.resolve = map[string]string{"plain.allowed.test:80": f.plain.addr(), "evil.test:80": f.plain.addr()}
	for _, n := range upstreamNames {
		f.resolve[n+":443"] = f.up.addr()
	}
	f.resolve["port.allowed.test:8443"] = f.up.addr()
	cfg := Config{
		Bottle: "b1", Routes: &schemas.RoutesFile{Version: 1, Routes: routes},
		Tokens: map[string]schemas.Secret{"EGRESS_TOKEN_0": schemas.NewSecret(testToken), "EGRESS_TOKEN_1": schemas.NewSecret("user:" + testToken + "pw")},
		CA:     f.ca, Publisher: f.pub, UpstreamRoots: f.pki.Pool(), Resolve: f.resolve,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LookupIP: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return nil, fmt.Errorf("no DNS in tests (looked up %q)", host)
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.proxy, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = f.proxy.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = f.proxy.Shutdown(ctx)
		<-done
	})
	f.proxyURL = &url.URL{Scheme: "http", Host: l.Addr().String()}
	f.roots = x509.NewCertPool()
	f.roots.AppendCertsFromPEM(f.ca.CertPEM())
	f.roots.AddCert(f.pki.Cert()) // for passthrough tunnels, which show the upstream's own certificate
	f.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(f.proxyURL), TLSClientConfig: &tls.Config{RootCAs: f.roots},
	}}
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

// get sends a request through the proxy with the Go client.
func (f *fixture) do(method, u string, body io.Reader, hdr http.Header) (*http.Response, []byte, error) {
	f.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// mitm opens a CONNECT tunnel to authority and a TLS session in it with
// serverName, and returns the TLS connection and its reader.
func (f *fixture) mitm(authority, serverName string) (*tls.Conn, *bufio.Reader, error) {
	f.t.Helper()
	c, err := net.DialTimeout("tcp", f.proxyURL.Host, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	f.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, nil, &connectRefused{resp: resp, body: b}
	}
	tc := tls.Client(&bufferedConn{Conn: c, r: br}, &tls.Config{ServerName: serverName, RootCAs: f.roots})
	if err := tc.Handshake(); err != nil {
		return nil, nil, err
	}
	return tc, bufio.NewReader(tc), nil
}

type connectRefused struct {
	resp *http.Response
	body []byte
}

func (e *connectRefused) Error() string {
	return "CONNECT refused: " + e.resp.Status + " " + string(e.body)
}

// rawMITM sends raw (a whole request head, and body) through a MITM'd
// tunnel to authority and reads the response.
func (f *fixture) rawMITM(authority, raw string) (*http.Response, []byte) {
	f.t.Helper()
	resp, b, err := f.tryRawMITM(authority, raw)
	if err != nil {
		f.t.Fatalf("%q to %s: %v", raw, authority, err)
	}
	return resp, b
}

// tryRawMITM is rawMITM for requests the proxy may refuse to parse at all
// (it then closes the connection: err is set).
func (f *fixture) tryRawMITM(authority, raw string) (*http.Response, []byte, error) {
	f.t.Helper()
	host, _, _ := net.SplitHostPort(authority)
	tc, br, err := f.mitm(authority, host)
	if err != nil {
		f.t.Fatalf("tunnel to %s: %v", authority, err)
	}
	if _, err := io.WriteString(tc, raw); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b, nil
}

// rawPlain sends raw to the proxy's port as a plain-http proxy request.
func (f *fixture) rawPlain(raw string) (*http.Response, []byte) {
	f.t.Helper()
	c, err := net.DialTimeout("tcp", f.proxyURL.Host, 10*time.Second)
	if err != nil {
		f.t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		f.t.Fatalf("read response to %q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// denialOf decodes a refusal and checks that it is well formed: JSON with
// the denial id also in the header.
func denialOf(t testing.TB, resp *http.Response, body []byte) schemas.Denial {
	t.Helper()
	var d schemas.Denial
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("status %d: body is not a denial: %v: %q", resp.StatusCode, err, body)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("denial content type %q", resp.Header.Get("Content-Type"))
	}
	if d.ID == "" || resp.Header.Get(HeaderDenial) != d.ID {
		t.Errorf("denial id %q, header %q", d.ID, resp.Header.Get(HeaderDenial))
	}
	if d.Bottle != "b1" || d.Hint == "" && d.Reason != ReasonUpstreamError.String() || d.Error == "" {
		t.Errorf("incomplete denial: %+v", d)
	}
	return d
}

// wantReason asserts a refusal with reason r (and its status).
func wantReason(t testing.TB, resp *http.Response, body []byte, r Reason) schemas.Denial {
	t.Helper()
	if resp.StatusCode != r.Status() {
		t.Fatalf("status %d, want %d (%s): %s", resp.StatusCode, r.Status(), r, body)
	}
	d := denialOf(t, resp, body)
	if d.Reason != r.String() {
		t.Fatalf("reason %q, want %q: %s", d.Reason, r, body)
	}
	return d
}

// rule is an open route for host; ruleTLS a passthrough one for "pt-"+host.
func rule(host string) schemas.RouteRule { return schemas.RouteRule{Host: host} }

func ruleTLS(host string) schemas.RouteRule {
	return schemas.RouteRule{Host: "pt-" + host, TLSPassthrough: true}
}
