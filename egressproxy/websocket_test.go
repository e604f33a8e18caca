package egressproxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/coder/websocket"
)

// wsUpstream is a real WebSocket server (coder/websocket) on TLS that
// offers permessage-deflate and records the text messages it receives.
type wsUpstream struct {
	mu       sync.Mutex
	received []string
	upgrades int
}

func (u *wsUpstream) got() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.received...)
}

func (u *wsUpstream) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.URL.Path == "/ws/header-echo" {
			w.Header().Set("X-Echo", auth)
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		u.mu.Lock()
		u.upgrades++
		u.mu.Unlock()
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		switch r.URL.Path {
		case "/ws/echo-auth":
			// The injected header handed back after the upgrade, whole
			// and then split across two frames of one message.
			_ = c.Write(ctx, websocket.MessageText, []byte("you sent "+auth))
			mw, _ := c.Writer(ctx, websocket.MessageText)
			mw.Write([]byte("split " + auth[:len(auth)/2]))
			mw.Write([]byte(auth[len(auth)/2:] + " end"))
			mw.Close()
			_ = c.Write(ctx, websocket.MessageText, []byte(`{"json":"`+strings.ReplaceAll(auth, "_", `\u005f`)+`"}`))
		}
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			u.mu.Lock()
			u.received = append(u.received, string(msg))
			u.mu.Unlock()
			if err := c.Write(ctx, typ, append([]byte("echo:"), msg...)); err != nil {
				return
			}
		}
	})
}

// wsFixture is a proxy whose api.allowed.test route injects a credential
// and allows WebSocket, ws.allowed.test injects one without allowing it,
// and open.allowed.test has none; all three reach one wsUpstream.
func wsFixture(t *testing.T) (*fixture, *wsUpstream) {
	t.Helper()
	u := &wsUpstream{}
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "api.allowed.test", "ws.allowed.test", "open.allowed.test")
	srv := newUpstream(t, &leaf, map[string]http.Handler{"/ws/": u.handler()})
	routes := []schemas.RouteRule{
		{Host: "api.allowed.test", WebSocket: true, Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
		{Host: "ws.allowed.test", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
		{Host: "open.allowed.test"},
	}
	f := newFixture(t, routes, func(c *Config) {
		for _, h := range []string{"api.allowed.test", "ws.allowed.test", "open.allowed.test"} {
			c.Resolve[h+":443"] = srv.addr()
		}
		c.UpstreamRoots.AddCert(pki.Cert())
	})
	return f, u
}

func (f *fixture) dialWS(ctx context.Context, u string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: f.client, CompressionMode: websocket.CompressionContextTakeover})
}

// TestAttackWebSocketOnAuthenticatedRoute is issue #12 leak 3: after
// "101 Switching Protocols" on a route that injects a credential, the
// upstream's frames echoing it must be masked, the agent's frames carrying
// it refused, and routes that do not allow WebSocket must refuse the
// upgrade. Real client and server: coder/websocket, through the proxy.
func TestAttackWebSocketOnAuthenticatedRoute(t *testing.T) {
	f, up := wsFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A route with a credential but without websocket: true.
	_, resp, err := f.dialWS(ctx, "wss://ws.allowed.test/ws/echo-auth")
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden || f.lastDenial() != ReasonWebSocketNotAllowed.String() {
		t.Fatalf("upgrade on a route without websocket: %v %v, last denial %q", err, resp, f.lastDenial())
	}

	// The route allows it: the upstream's echo is masked, in the 101's
	// headers and in every frame.
	c, resp, err := f.dialWS(ctx, "wss://api.allowed.test/ws/header-echo")
	if err != nil {
		t.Fatalf("upgrade on a websocket route: %v", err)
	}
	if e := resp.Header.Get("X-Echo"); strings.Contains(e, testToken) || !strings.Contains(e, "***") {
		t.Fatalf("the 101's headers hand the agent the credential (not shown)")
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("an extension was negotiated through the proxy: %q", ext)
	}
	c.CloseNow()
	c, _, err = f.dialWS(ctx, "wss://api.allowed.test/ws/echo-auth")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 3 {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if leaked(string(msg), testToken) || !strings.Contains(string(msg), "*****") {
			t.Fatalf("message %d hands the agent the credential, or is not masked (not shown)", i)
		}
	}
	// A clean message goes through both ways.
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo:hello" {
		t.Fatalf("clean message: %q %v", msg, err)
	}
	// The agent sends the token split across two frames: refused with a
	// policy-violation close, and a denial.
	mw, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	mw.Write([]byte("exfil " + testToken[:10]))
	mw.Write([]byte(testToken[10:] + " done"))
	mw.Close()
	_, msg, err := c.Read(ctx)
	if status := websocket.CloseStatus(err); status != websocket.StatusPolicyViolation {
		t.Fatalf("after a frame carrying the token: %v (status %d), read %q", err, status, strings.ReplaceAll(string(msg), testToken, "[token]"))
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, ReasonTokenInFrame.String()) {
		t.Fatalf("close reason does not name the denial: %v", err)
	}
	if f.lastDenial() != ReasonTokenInFrame.String() {
		t.Fatalf("last denial %q", f.lastDenial())
	}
	for _, m := range up.got() {
		if strings.Contains(m, testToken) {
			t.Fatalf("the upstream received the token in a frame")
		}
	}
}

// TestWebSocketFramesScannedOnOpenRoutes: agent frames are scanned on every
// route, as request bodies are; other upgrades (h2c) are never relayed.
func TestWebSocketFramesScannedOnOpenRoutes(t *testing.T) {
	f, up := wsFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := f.dialWS(ctx, "wss://open.allowed.test/ws/recv")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageBinary, []byte("x="+testToken)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("token in a frame on an open route: %v", err)
	}
	if len(up.got()) != 0 {
		t.Fatalf("the upstream received a frame carrying the token")
	}
	for _, host := range []string{"api.allowed.test", "open.allowed.test"} {
		resp, b := f.rawMITM(host+":443", "GET /ws/recv HTTP/1.1\r\nHost: "+host+
			"\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
		wantReason(t, resp, b, ReasonUpgradeNotAllowed)
	}
}
