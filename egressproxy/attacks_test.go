package egressproxy

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// unparseable marks a request net/http itself refuses to parse.
const unparseable = numReasons + 1

// Every attack the proxy exists to stop, as a real request through a real
// proxy to a real TLS upstream. Each asserts the reason and that the
// upstream never saw the request.

func TestAttackPathsInTunnel(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	cases := []struct {
		path string
		want Reason
	}{
		{"/repos/myorg/../secret", ReasonPathNotNormal},
		{"/repos/myorg/%2e%2e/secret", ReasonPathNotNormal},
		{"/repos/myorg/%2E%2E/secret", ReasonPathNotNormal},
		{"/repos/myorg/.%2e/secret", ReasonPathNotNormal},
		{"/repos/myorg/./x", ReasonPathNotNormal},
		{"/repos/myorg%2fsecret", ReasonPathNotNormal},
		{"/repos/myorg%2Fx", ReasonPathNotNormal},
		{"/repos/myorg/%5c..%5csecret", ReasonPathNotNormal},
		{"/repos/myorg\\..\\secret", ReasonPathNotNormal},
		{"/repos//myorg/x", ReasonPathNotNormal},
		{"//repos/myorg/x", ReasonPathNotNormal},
		{"/repos/myorg/..;/secret", ReasonPathNotNormal},
		{"/repos/myorg/%c0%ae%c0%ae/secret", ReasonPathNotNormal},
		{"/repos/myorg/%00", ReasonPathNotNormal},
		{"/repos/myorg/%zz", unparseable},
		{"/repos/myorg/%", unparseable},
		{"/repos/myorg/%4", unparseable},
		{"/repos/myorg/a b", unparseable},
		{"/repos/%6dyorg/x", ReasonPathNotNormal}, // %6d is 'm': unreserved, so not canonical
		{"/repos/myorgX", ReasonPathNotAllowed},
		{"/repos/myorgX/x", ReasonPathNotAllowed},
		{"/repos/myorg", ReasonPathNotAllowed}, // the prefix ends in '/': only what is under it
		{"/exactly", ReasonPathNotAllowed},
		{"/secret", ReasonPathNotAllowed},
		{"/repos/myorg/x", ReasonAllowed},
		{"/repos/myorg/", ReasonAllowed},
		{"/exact", ReasonAllowed},
		{"/exact/sub", ReasonAllowed},
		{"/repos/myorg/caf%C3%A9", ReasonAllowed},
		{"/repos/myorg/a%20b", ReasonAllowed},
		{"/repos/myorg/x;y=1", ReasonAllowed},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			before := len(f.up.seen())
			resp, body, err := f.tryRawMITM("api.allowed.test:443", "GET "+c.path+" HTTP/1.1\r\nHost: api.allowed.test\r\nConnection: close\r\n\r\n")
			if c.want == unparseable {
				// net/http's parser rejects the request line; the tunnel
				// closes (or answers 400) and nothing goes upstream.
				if err == nil && resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if len(f.up.seen()) != before {
					t.Fatalf("upstream saw an unparseable request")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == ReasonAllowed {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				got := f.up.seen()
				if len(got) != before+1 || got[len(got)-1].URI != c.path {
					t.Fatalf("upstream saw %+v, want exactly %q", got[before:], c.path)
				}
				return
			}
			wantReason(t, resp, body, c.want)
			if len(f.up.seen()) != before {
				t.Fatalf("upstream saw a refused request")
			}
		})
	}
}

func TestAttackHostInsideTunnel(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	cases := []struct{ name, raw string }{
		{"other Host", "GET /repos/myorg/x HTTP/1.1\r\nHost: evil.test\r\n\r\n"},
		{"allowed other Host", "GET /x HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n"},
		{"other port", "GET /repos/myorg/x HTTP/1.1\r\nHost: api.allowed.test:8443\r\n\r\n"},
		{"absolute URI elsewhere", "GET https://evil.test/repos/myorg/x HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n"},
		{"absolute URI elsewhere, Host elsewhere", "GET https://evil.test/repos/myorg/x HTTP/1.1\r\nHost: evil.test\r\n\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.rawMITM("api.allowed.test:443", c.raw)
			wantReason(t, resp, body, ReasonHostMismatch)
		})
	}
	// Two Host headers: net/http refuses to parse the request.
	if resp, body, err := f.tryRawMITM("api.allowed.test:443", "GET /repos/myorg/x HTTP/1.1\r\nHost: api.allowed.test\r\nHost: evil.test\r\n\r\n"); err == nil {
		t.Fatalf("two Host headers: %d %s", resp.StatusCode, body)
	}
	if n := len(f.up.seen()); n != 0 {
		t.Fatalf("upstream saw %d requests", n)
	}
	// An absolute URI naming the tunnel's host decides; a Host header that
	// disagrees is discarded by net/http's parser (RFC 9112 3.2.2) and never
	// forwarded: the upstream is told the tunnel's host.
	resp, body := f.rawMITM("api.allowed.test:443", "GET https://api.allowed.test/repos/myorg/x HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || f.up.seen()[0].Host != "api.allowed.test" {
		t.Fatalf("absolute URI, other Host: %d %s; upstream saw %+v", resp.StatusCode, body, f.up.seen())
	}
	// The same host spelled differently is the same host.
	resp, body = f.rawMITM("api.allowed.test:443", "GET /repos/myorg/x HTTP/1.1\r\nHost: API.Allowed.Test.:443\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || f.up.seen()[1].Host != "api.allowed.test" {
		t.Fatalf("case/dot variant: %d %s, upstream Host %q", resp.StatusCode, body, f.up.seen()[1].Host)
	}
}

func TestAttackConnect(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	cases := []struct {
		authority string
		want      Reason
	}{
		{"evil.test:443", ReasonHostNotAllowed},
		{"127.0.0.1:443", ReasonIPLiteral},
		{"[::1]:443", ReasonIPLiteral},
		{"2130706433:443", ReasonIPLiteral},
		{"0x7f.1:443", ReasonIPLiteral},
		{"127.1:443", ReasonIPLiteral},
		{"169.254.169.254:443", ReasonIPLiteral},
		{"api.allowed.test:8443", ReasonPortNotAllowed},
		{"api.allowed.test:80", ReasonPortNotAllowed},
		{"port.allowed.test:443", ReasonPortNotAllowed},
		{"allowed.test:443", ReasonHostNotAllowed},
		{"xapi.allowed.test:443", ReasonHostNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.authority, func(t *testing.T) {
			// The CONNECT is accepted only so that the agent can read the
			// denial: every request in the tunnel gets it, none leaves.
			host, _, _ := net.SplitHostPort(c.authority)
			before, published := len(f.up.seen()), countDenials(f)
			resp, body := f.rawMITM(c.authority, "GET /x?q=1 HTTP/1.1\r\nHost: "+c.authority+"\r\nConnection: close\r\n\r\n")
			den := wantReason(t, resp, body, c.want)
			if den.Method != "GET" || den.Path != "/x?[redacted]" || strings.Trim(host, "[]") == "" {
				t.Fatalf("denial shows %s %s", den.Method, den.Path)
			}
			if len(f.up.seen()) != before {
				t.Fatal("a refused tunnel reached the upstream")
			}
			if got := countDenials(f) - published; got != 1 {
				t.Fatalf("%d denial events for one refused CONNECT, want 1", got)
			}
		})
	}
	// Case and a trailing dot normalise; the port route admits its port only.
	for _, a := range []string{"API.ALLOWED.TEST:443", "api.allowed.test.:443", "port.allowed.test:8443"} {
		tc, br, err := f.mitm(a, strings.TrimSuffix(strings.Split(a, ":")[0], "."))
		if err != nil {
			t.Fatalf("CONNECT %s: %v", a, err)
		}
		tc.Write([]byte("GET /repos/myorg/x HTTP/1.1\r\nHost: " + a + "\r\nConnection: close\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT %s then GET: %v %v", a, err, resp)
		}
	}
	// Go's client reads the structured 403, not a bare CONNECT error.
	resp, body, err := f.do("GET", "https://evil.test/", nil, nil)
	if err != nil {
		t.Fatalf("Go client to evil.test: %v", err)
	}
	if den := wantReason(t, resp, body, ReasonHostNotAllowed); resp.Header.Get(HeaderDenial) != den.ID {
		t.Fatalf("header %q, body id %q", resp.Header.Get(HeaderDenial), den.ID)
	}
}

func TestAttackPlainHTTP(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	cases := []struct {
		name, raw string
		want      Reason
	}{
		{"unknown host", "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", ReasonHostNotAllowed},
		{"ip literal", "GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", ReasonIPLiteral},
		{"ipv6 literal", "GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]\r\n\r\n", ReasonIPLiteral},
		{"inet_aton", "GET http://0177.0.0.1/ HTTP/1.1\r\nHost: 0177.0.0.1\r\n\r\n", ReasonIPLiteral},
		{"wrong port", "GET http://plain.allowed.test:8080/ HTTP/1.1\r\nHost: plain.allowed.test:8080\r\n\r\n", ReasonPortNotAllowed},
		{"path", "GET http://api.allowed.test/secret HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n", ReasonPathNotAllowed},
		{"dotdot", "GET http://api.allowed.test/repos/myorg/../x HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n", ReasonPathNotNormal},
		{"method", "DELETE http://api.allowed.test/repos/myorg/x HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n", ReasonMethodNotAllowed},
		{"method on a GET-only path", "POST http://api.allowed.test/readonly/x HTTP/1.1\r\nHost: api.allowed.test\r\nContent-Length: 0\r\n\r\n", ReasonMethodNotAllowed},
		{"trace", "TRACE http://open.allowed.test/ HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n", ReasonMethodNotAllowed},
		{"ftp", "GET ftp://open.allowed.test/ HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n", ReasonBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.rawPlain(c.raw)
			wantReason(t, resp, body, c.want)
		})
	}
	// The absolute URI decides, whatever Host says: net/http discards a Host
	// header that disagrees with an absolute URI (RFC 9112 3.2.2), and the
	// proxy forwards the URI's host, so evil.test is never contacted and
	// never named upstream.
	resp, body := f.rawPlain("GET http://plain.allowed.test/a HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("absolute URI with other Host: %d %s", resp.StatusCode, body)
	}
	got := f.plain.seen()
	if len(got) != 1 || got[0].Host != "plain.allowed.test" {
		t.Fatalf("upstream saw %+v", got)
	}
	resp, body = f.rawPlain("GET http://evil.test/a HTTP/1.1\r\nHost: plain.allowed.test\r\nConnection: close\r\n\r\n")
	wantReason(t, resp, body, ReasonHostNotAllowed)
	if len(f.plain.seen()) != 1 {
		t.Fatalf("upstream saw the refused request")
	}
}

func TestAttackGitPush(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	for _, raw := range []string{
		"GET /repo.git/info/refs?service=git-receive-pack HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n",
		"GET /repo.git/info/refs?service=git%2Dreceive%2Dpack HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n",
		"POST /repo.git/git-receive-pack HTTP/1.1\r\nHost: open.allowed.test\r\nContent-Length: 0\r\n\r\n",
		"POST /repo.git/Git-Receive-Pack HTTP/1.1\r\nHost: open.allowed.test\r\nContent-Length: 0\r\n\r\n",
		"POST /repo.git/x HTTP/1.1\r\nHost: open.allowed.test\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: 0\r\n\r\n",
	} {
		resp, body := f.rawMITM("open.allowed.test:443", raw)
		wantReason(t, resp, body, ReasonGitPush)
	}
	resp, body := f.rawPlain("GET http://plain.allowed.test/r.git/info/refs?service=git-receive-pack HTTP/1.1\r\nHost: plain.allowed.test\r\n\r\n")
	wantReason(t, resp, body, ReasonGitPush)
	// Fetching is fine.
	resp, body = f.rawMITM("open.allowed.test:443", "GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("upload-pack: %d %s", resp.StatusCode, body)
	}
	if n := len(f.up.seen()) + len(f.plain.seen()); n != 1 {
		t.Fatalf("upstreams saw %d requests, want only the fetch", n)
	}
}

// countDenials counts the denial events the proxy has published.
func countDenials(f *fixture) int {
	n := 0
	for _, ev := range f.pub.Events() {
		if ev.Kind == schemas.KindDenial {
			n++
		}
	}
	return n
}
