package egressproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAttackCredentialOverCleartext is issue #12 leak 2: a plain http://
// request to a host whose route injects a credential must not get the
// credential injected and sent unencrypted. Every upstream that could be
// reached over cleartext is a plain recorder here, so a leak would show.
func TestAttackCredentialOverCleartext(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) {
		plainAddr := c.Resolve["plain.allowed.test:80"]
		for _, h := range []string{"api.allowed.test", "basic.allowed.test", "tok.allowed.test"} {
			c.Resolve[h+":80"] = plainAddr
			// A cleartext request inside a CONNECT tunnel is forwarded to
			// the tunnel's port: let that be a recorder too.
			c.Resolve[h+":443"] = plainAddr
		}
	})

	// Go's client, plain proxy request.
	for _, u := range []string{"http://api.allowed.test/repos/myorg/x", "http://basic.allowed.test/x", "http://tok.allowed.test/x?y=1"} {
		resp, b, err := f.do("GET", u, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		d := wantReason(t, resp, b, ReasonCleartextCredential)
		if d.Hint == "" || !strings.Contains(d.Hint, "https") {
			t.Fatalf("%s: hint %q does not say to use https", u, d.Hint)
		}
	}
	// curl, the way an agent would write it.
	ca := f.writeCA(t)
	out, err := run(t, "", nil, "curl", "-sS", "--max-time", "30", "--proxy", f.proxyURL.String(), "--cacert", ca,
		"-w", "\n%{http_code}", "http://api.allowed.test/repos/myorg/x")
	if err != nil || !strings.HasSuffix(out, "\n403") || !strings.Contains(out, `"reason":"`+ReasonCleartextCredential.String()+`"`) {
		t.Fatalf("curl http://: %v %s", err, out)
	}
	// Cleartext HTTP inside a CONNECT tunnel to the route's TLS port: the
	// proxy would forward it as http:// to port 443.
	c, br := f.rawTunnel("api.allowed.test:443")
	if _, err := c.Write([]byte("GET /repos/myorg/x HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("cleartext in tunnel: %v", err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	wantReason(t, resp, body.Bytes(), ReasonCleartextCredential)

	if got := f.plain.seen(); len(got) != 0 {
		t.Fatalf("a cleartext upstream received %d requests for authenticated routes", len(got))
	}
}

// rawTunnel opens a CONNECT tunnel to authority and returns the raw
// connection, before any TLS, and its reader.
func (f *fixture) rawTunnel(authority string) (net.Conn, *bufio.Reader) {
	f.t.Helper()
	c, err := net.DialTimeout("tcp", f.proxyURL.Host, 10*time.Second)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("CONNECT %s: %v %v", authority, err, resp)
	}
	return c, br
}
