package egressproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAgentAuthorizationIsNeverForwarded(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	hdr := http.Header{"Authorization": {"Bearer agent-made-this-up"}, "Proxy-Authorization": {"Basic YWdlbnQ6cHc="}}
	// A route with auth: the agent's header is replaced by the route's.
	resp, body, err := f.do("GET", "https://api.allowed.test/repos/myorg/x", nil, hdr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v %s", err, resp, body)
	}
	// A route without auth: the agent's header is dropped.
	resp, body, err = f.do("GET", "https://open.allowed.test/x", nil, hdr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v %s", err, resp, body)
	}
	// Plain http too.
	resp, body, err = f.do("GET", "http://plain.allowed.test/x", nil, hdr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v %s", err, resp, body)
	}
	got := append(f.up.seen(), f.plain.seen()...)
	if len(got) != 3 {
		t.Fatalf("upstreams saw %d requests", len(got))
	}
	if a := got[0].Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer "+testToken {
		t.Errorf("authenticated route got Authorization %q", a)
	}
	for i, s := range got {
		if i > 0 && len(s.Header.Values("Authorization")) != 0 {
			t.Errorf("request %d forwarded Authorization %q", i, s.Header.Values("Authorization"))
		}
		if len(s.Header.Values("Proxy-Authorization")) != 0 {
			t.Errorf("request %d forwarded Proxy-Authorization", i)
		}
		if strings.Contains(s.Header.Get("Authorization"), "agent-made-this-up") {
			t.Errorf("agent credential forwarded")
		}
	}
}

func TestAuthSchemesAreInjected(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	for host, want := range map[string]string{
		"api.allowed.test":   "Bearer " + testToken,
		"tok.allowed.test":   "token " + testToken,
		"basic.allowed.test": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+testToken+"pw")),
	} {
		path := "/repos/myorg/x"
		resp, body, err := f.do("GET", "https://"+host+path, nil, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v %s", host, err, resp, body)
		}
		got := f.up.seen()
		if a := got[len(got)-1].Header.Get("Authorization"); a != want {
			t.Errorf("%s: upstream got %q, want the %s scheme", host, a, strings.Fields(want)[0])
		}
		if bytes.Contains(body, []byte(testToken)) {
			// The echo upstream repeats the header: that is the upstream's
			// doing, but the test must not print it.
			body = nil
		}
	}
}

func TestTokensCannotLeave(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	b64 := base64.StdEncoding.EncodeToString([]byte(testToken))
	cases := []struct {
		name   string
		method string
		url    string
		hdr    http.Header
		body   string
		want   Reason
	}{
		{"query", "GET", "https://open.allowed.test/x?t=" + testToken, nil, "", ReasonTokenInURL},
		{"query url-encoded", "GET", "https://open.allowed.test/x?t=" + strings.ReplaceAll(url.QueryEscape(testToken), "_", "%5F"), nil, "", ReasonTokenInURL},
		{"query double-encoded", "GET", "https://open.allowed.test/x?t=" + strings.ReplaceAll(url.QueryEscape(testToken), "_", "%255F"), nil, "", ReasonTokenInURL},
		{"path", "GET", "https://open.allowed.test/x/" + testToken, nil, "", ReasonTokenInURL},
		{"query base64", "GET", "https://open.allowed.test/x?t=" + url.QueryEscape(b64), nil, "", ReasonTokenInURL},
		{"query hex", "GET", "https://open.allowed.test/x?t=" + hex.EncodeToString([]byte(testToken)), nil, "", ReasonTokenInURL},
		{"custom header", "GET", "https://open.allowed.test/x", http.Header{"X-Exfil": {"a " + testToken}}, "", ReasonTokenInHeader},
		{"header name", "GET", "https://open.allowed.test/x", http.Header{"X-" + testToken: {"1"}}, "", ReasonTokenInHeader},
		{"cookie base64url", "GET", "https://open.allowed.test/x", http.Header{"Cookie": {"s=" + base64.RawURLEncoding.EncodeToString([]byte("xy"+testToken))}}, "", ReasonTokenInHeader},
		{"header hex upper", "GET", "https://open.allowed.test/x", http.Header{"X-A": {strings.ToUpper(hex.EncodeToString([]byte(testToken)))}}, "", ReasonTokenInHeader},
		{"body raw", "POST", "https://open.allowed.test/x", nil, `{"t":"` + testToken + `"}`, ReasonTokenInBody},
		{"body base64", "POST", "https://open.allowed.test/x", nil, `{"t":"` + b64 + `"}`, ReasonTokenInBody},
		{"body base64 offset 1", "POST", "https://open.allowed.test/x", nil, base64.StdEncoding.EncodeToString([]byte("a" + testToken + "z")), ReasonTokenInBody},
		{"body base64 offset 2", "POST", "https://open.allowed.test/x", nil, base64.URLEncoding.EncodeToString([]byte("ab" + testToken)), ReasonTokenInBody},
		{"body form", "POST", "https://open.allowed.test/x", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "t=" + url.QueryEscape("%"+testToken), ReasonTokenInBody},
		{"body hex", "POST", "https://open.allowed.test/x", nil, hex.EncodeToString([]byte(testToken)), ReasonTokenInBody},
		{"basic password alone in basic form", "POST", "https://open.allowed.test/x", nil, base64.StdEncoding.EncodeToString([]byte("user:" + testToken + "pw")), ReasonTokenInBody},
		{"plain http body", "POST", "http://plain.allowed.test/x", nil, "x=" + testToken, ReasonTokenInBody},
		{"plain http query", "GET", "http://plain.allowed.test/x?" + testToken, nil, "", ReasonTokenInURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			resp, b, err := f.do(c.method, c.url, body, c.hdr)
			if err != nil {
				t.Fatal(err)
			}
			d := wantReason(t, resp, b, c.want)
			if strings.Contains(string(b), testToken) || strings.Contains(d.Path, testToken) {
				t.Fatalf("the denial repeats the token")
			}
		})
	}
	// Userinfo in an absolute URI (Go's client would turn it into an
	// Authorization header, which is stripped anyway).
	resp, b := f.rawPlain("GET http://" + testToken + "@plain.allowed.test/x HTTP/1.1\r\nHost: plain.allowed.test\r\n\r\n")
	wantReason(t, resp, b, ReasonTokenInURL)
	if n := len(f.up.seen()) + len(f.plain.seen()); n != 0 {
		t.Fatalf("upstreams saw %d requests carrying the token", n)
	}
}

// A body longer than the buffer is scanned as it streams: a token far into
// it, or split across reads, is caught before it reaches the upstream.
func TestTokenInStreamedBody(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) { c.Limits.BodyBufferBytes = 4096 })
	for _, enc := range []string{testToken, base64.StdEncoding.EncodeToString([]byte("q" + testToken)), url.QueryEscape("%" + testToken)} {
		body := strings.Repeat("a", 100_000) + enc + strings.Repeat("b", 50_000)
		// An io.Reader without a length: the client sends it chunked, in
		// small writes.
		resp, b, err := f.do("POST", "https://open.allowed.test/upload", io.MultiReader(strings.NewReader(body)), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantReason(t, resp, b, ReasonTokenInBody)
	}
	for _, s := range f.up.seen() {
		if bytes.Contains(s.Body, []byte(testToken)) {
			t.Fatalf("the upstream received the token")
		}
	}
	// A long clean body streams through whole.
	clean := strings.Repeat("0123456789", 50_000)
	resp, b, err := f.do("POST", "https://open.allowed.test/upload", io.MultiReader(strings.NewReader(clean)), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v %s", err, resp, b)
	}
	got := f.up.seen()
	if last := got[len(got)-1]; string(last.Body) != clean {
		t.Fatalf("upstream got %d bytes, want %d", len(last.Body), len(clean))
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) { c.Limits.MaxBodyBytes = 10_000; c.Limits.BodyBufferBytes = 1000 })
	resp, b, err := f.do("POST", "https://open.allowed.test/x", strings.NewReader(strings.Repeat("a", 20_000)), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, b, ReasonBodyTooLarge)
	resp, b, err = f.do("POST", "https://open.allowed.test/x", io.MultiReader(strings.NewReader(strings.Repeat("a", 20_000))), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, b, ReasonBodyTooLarge)
}
