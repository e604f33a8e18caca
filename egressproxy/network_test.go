package egressproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/elazarl/goproxy"
	"golang.org/x/net/websocket"
)

func TestPassthroughIsATunnel(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	resp, body, err := f.do("GET", "https://pass.allowed.test/anything/../at/all", nil, http.Header{"Authorization": {"Bearer agent"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v %s", err, resp, body)
	}
	// The agent saw the upstream's own certificate, not one from the
	// bottle's CA: nothing was decrypted, so no path rule applied and the
	// agent's header went through untouched (it is the agent's to send).
	if iss := resp.TLS.PeerCertificates[0].Issuer.CommonName; iss != "bot-bottle test upstream CA" {
		t.Fatalf("passthrough served a certificate from %q", iss)
	}
	if got := f.up.seen(); len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer agent" {
		t.Fatalf("upstream saw %+v", got)
	}
}

func TestMITMServesBottleCA(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	resp, _, err := f.do("GET", "https://open.allowed.test/x", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if leaf.Issuer.CommonName != f.ca.Certificate().Subject.CommonName || leaf.DNSNames[0] != "open.allowed.test" {
		t.Fatalf("leaf from %q for %v", leaf.Issuer.CommonName, leaf.DNSNames)
	}
	for range 3 {
		f.client.CloseIdleConnections()
		if _, _, err := f.do("GET", "https://open.allowed.test/x", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.proxy.certs.mintedCount(); n != 1 {
		t.Fatalf("minted %d leaves for one host", n)
	}
}

func TestWebSocketThroughMITM(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	tc, _, err := f.mitm("open.allowed.test:443", "open.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := websocket.NewConfig("wss://open.allowed.test/ws", "https://open.allowed.test/")
	ws, err := websocket.NewClient(cfg, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := websocket.Message.Send(ws, "hello"); err != nil {
		t.Fatal(err)
	}
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err != nil || msg != "echo:hello" {
		t.Fatalf("got %q, %v", msg, err)
	}
}

// A name that resolves to the host's own or internal addresses is never
// dialled, whatever route admits it: DNS rebinding cannot reach the host.
func TestBlockedAddressesAfterResolution(t *testing.T) {
	dns := map[string][]netip.Addr{
		"rebind.test":    {netip.MustParseAddr("127.0.0.1")},
		"meta.test":      {netip.MustParseAddr("169.254.169.254")},
		"meta6.test":     {netip.MustParseAddr("fd00:ec2::254")},
		"private.test":   {netip.MustParseAddr("10.1.2.3")},
		"cgnat.test":     {netip.MustParseAddr("100.100.100.200")},
		"mapped.test":    {netip.MustParseAddr("::ffff:127.0.0.1")},
		"nat64.test":     {netip.MustParseAddr("64:ff9b::a9fe:a9fe")},
		"pt-rebind.test": {netip.MustParseAddr("127.0.0.1")},
		"zero.test":      {netip.MustParseAddr("0.0.0.0")},
		"linklocal.test": {netip.MustParseAddr("fe80::1")},
	}
	rules := append([]schemas.RouteRule(nil), defaultRoutes...)
	for h := range dns {
		if !strings.HasPrefix(h, "pt-") {
			rules = append(rules, rule(h))
		}
	}
	rules = append(rules, ruleTLS("rebind.test"))
	f := newFixture(t, rules, func(c *Config) {
		c.LookupIP = func(_ context.Context, host string) ([]netip.Addr, error) {
			if a, ok := dns[host]; ok {
				return a, nil
			}
			return nil, errors.New("no such host")
		}
	})
	for h := range dns {
		if strings.HasPrefix(h, "pt-") {
			continue
		}
		// plain http
		resp, b := f.rawPlain("GET http://" + h + "/ HTTP/1.1\r\nHost: " + h + "\r\n\r\n")
		wantReason(t, resp, b, ReasonBlockedAddress)
		// MITM'd https
		resp, b = f.rawMITM(h+":443", "GET / HTTP/1.1\r\nHost: "+h+"\r\n\r\n")
		wantReason(t, resp, b, ReasonBlockedAddress)
	}
	// passthrough tunnel: dialled only after its ClientHello was checked,
	// so the refusal is answered inside TLS (passthrough.go).
	resp, b, err := f.tlsThrough("pt-rebind.test:443", &tls.Config{ServerName: "pt-rebind.test", RootCAs: f.roots})
	if err != nil {
		t.Fatalf("passthrough to a rebinding name: %v", err)
	}
	wantReason(t, resp, b, ReasonBlockedAddress)
}

func TestIsBlockedAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "127.255.0.1", "::1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"fd00:ec2::254", "fc00::1", "fe80::1", "100.64.0.1", "0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1",
		"::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "198.18.0.1"} {
		if !isBlockedAddr(netip.MustParseAddr(a)) {
			t.Errorf("%s is not blocked", a)
		}
	}
	for _, a := range []string{"1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "140.82.112.3"} {
		if isBlockedAddr(netip.MustParseAddr(a)) {
			t.Errorf("%s is blocked", a)
		}
	}
}

func TestUpstreamErrorsAre502(t *testing.T) {
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	f := newFixture(t, append(append([]schemas.RouteRule(nil), defaultRoutes...), rule("dead.test"), ruleTLS("deadpass.test")),
		func(c *Config) {
			c.Resolve["dead.test:443"] = deadAddr
			c.Resolve["pt-deadpass.test:443"] = deadAddr
			c.Resolve["dead.test:80"] = deadAddr
		})
	resp, b := f.rawMITM("dead.test:443", "GET / HTTP/1.1\r\nHost: dead.test\r\n\r\n")
	wantReason(t, resp, b, ReasonUpstreamError)
	resp, b = f.rawPlain("GET http://dead.test/ HTTP/1.1\r\nHost: dead.test\r\n\r\n")
	wantReason(t, resp, b, ReasonUpstreamError)
	resp, b, err := f.tlsThrough("pt-deadpass.test:443", &tls.Config{ServerName: "pt-deadpass.test", RootCAs: f.roots})
	if err != nil {
		t.Fatalf("passthrough to a dead upstream: %v", err)
	}
	wantReason(t, resp, b, ReasonUpstreamError)
	if n := len(f.proxy.RecentDenials(100)); n != 0 {
		t.Fatalf("upstream failures are not denials, got %d", n)
	}
}

func TestUpstreamTLSIsVerified(t *testing.T) {
	// The upstream's certificate names upstreamNames only; badcert.test is
	// resolved to it and must fail verification.
	g := newFixture(t, append(append([]schemas.RouteRule(nil), defaultRoutes...), rule("badcert.test")), func(c *Config) {
		c.Resolve["badcert.test:443"] = c.Resolve["api.allowed.test:443"]
	})
	resp, b := g.rawMITM("badcert.test:443", "GET / HTTP/1.1\r\nHost: badcert.test\r\n\r\n")
	wantReason(t, resp, b, ReasonUpstreamError)
	// Without UpstreamRoots, the test CA is not trusted at all.
	h := newFixture(t, defaultRoutes, func(c *Config) { c.UpstreamRoots = nil })
	resp, b = h.rawMITM("open.allowed.test:443", "GET / HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n")
	wantReason(t, resp, b, ReasonUpstreamError)
}

// upstreamProxy is a second goproxy playing a corporate proxy: it counts what
// it carries.
func upstreamProxy(t *testing.T, resolve map[string]string) (*url.URL, *atomic.Int32, *atomic.Int32) {
	var connects, plain atomic.Int32
	up := goproxy.NewProxyHttpServer()
	d := &net.Dialer{}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := resolve[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}
	up.Tr = &http.Transport{DialContext: dial, Proxy: nil}
	up.ConnectDial = func(network, addr string) (net.Conn, error) { return dial(context.Background(), network, addr) }
	up.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		connects.Add(1)
		return &goproxy.ConnectAction{Action: goproxy.ConnectAccept}, host
	})
	up.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		plain.Add(1)
		return r, nil
	})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u, &connects, &plain
}

func TestUpstreamProxyCarriesEverything(t *testing.T) {
	var connects, plain *atomic.Int32
	f := newFixture(t, defaultRoutes, func(c *Config) {
		var u *url.URL
		u, connects, plain = upstreamProxy(t, c.Resolve)
		c.UpstreamProxy = u
		c.Resolve = nil // the upstream proxy resolves
	})
	for _, u := range []string{"https://api.allowed.test/repos/myorg/x", "https://pass.allowed.test/x", "http://plain.allowed.test/x"} {
		resp, b, err := f.do("GET", u, nil, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v %s", u, err, resp, b)
		}
	}
	if connects.Load() != 2 || plain.Load() != 1 {
		t.Fatalf("upstream proxy carried %d CONNECTs and %d plain requests, want 2 and 1", connects.Load(), plain.Load())
	}
}

// The proxy never follows HTTP(S)_PROXY from its own environment: a trap
// proxy named there sees nothing.
func TestEnvironmentProxyIsIgnored(t *testing.T) {
	var trapped atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapped.Add(1)
		http.Error(w, "trapped", http.StatusTeapot)
	}))
	defer trap.Close()
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"} {
		t.Setenv(k, trap.URL)
	}
	t.Setenv("NO_PROXY", "")
	f := newFixture(t, defaultRoutes)
	for _, u := range []string{"https://api.allowed.test/repos/myorg/x", "https://pass.allowed.test/x", "http://plain.allowed.test/x"} {
		resp, b, err := f.do("GET", u, nil, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v %s", u, err, resp, b)
		}
	}
	if trapped.Load() != 0 {
		t.Fatalf("the environment's proxy saw %d requests", trapped.Load())
	}
}

// A client's second connection through the proxy resumes its TLS session:
// every MITM'd config shares one ticket key, so a new connection per
// request costs no full handshake.
func TestMITMSessionsResume(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	tr := f.client.Transport.(*http.Transport)
	tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	tr.DisableKeepAlives = true
	var resumed []bool
	for range 3 {
		resp, _, err := f.do("GET", "https://open.allowed.test/x", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		resumed = append(resumed, resp.TLS.DidResume)
	}
	if resumed[0] || !resumed[1] || !resumed[2] {
		t.Fatalf("resumed: %v, want [false true true]", resumed)
	}
}
