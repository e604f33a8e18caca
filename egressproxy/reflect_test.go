package egressproxy

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestUpstreamEchoOfTheCredentialIsMasked is the attack: an allowed,
// authenticated upstream echoes the request's Authorization header (in the
// body as sent, base64 and hex, in a response header, and split across
// writes); the agent must never read the token.
func TestUpstreamEchoOfTheCredentialIsMasked(t *testing.T) {
	extra := map[string]http.Handler{
		"/repos/myorg/echo": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			w.Header().Set("X-Echo", auth)
			io.WriteString(w, "raw="+auth+"\n")
			io.WriteString(w, "b64="+base64.StdEncoding.EncodeToString([]byte(auth))+"\n")
			io.WriteString(w, "hex="+hex.EncodeToString([]byte(auth))+"\n")
			tok := strings.TrimPrefix(auth, "Bearer ")
			io.WriteString(w, "split="+tok[:len(tok)/2])
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond)
			io.WriteString(w, tok[len(tok)/2:]+"\n")
		}),
		"/repos/myorg/gzip": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, r.Header.Get("Authorization"))
			zw.Close()
		}),
	}
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "api.allowed.test")
	echo := newUpstream(t, &leaf, extra)
	f := newFixture(t, defaultRoutes, func(c *Config) {
		c.Resolve["api.allowed.test:443"] = echo.addr()
		c.UpstreamRoots.AddCert(pki.Cert())
	})

	resp, body, err := f.do("GET", "https://api.allowed.test/repos/myorg/echo", nil, http.Header{"Accept-Encoding": {"gzip"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("echo: %v %v", err, resp)
	}
	all := string(body) + resp.Header.Get("X-Echo")
	for i, form := range []string{testToken, base64.StdEncoding.EncodeToString([]byte("Bearer " + testToken)), hex.EncodeToString([]byte(testToken))} {
		if strings.Contains(all, form) {
			t.Fatalf("the agent read the credential (form %d); the response is not shown, it holds the token", i)
		}
	}
	if !strings.Contains(string(body), "raw=Bearer "+strings.Repeat("*", len(testToken))) || !strings.Contains(string(body), "split="+strings.Repeat("*", len(testToken))) {
		t.Fatalf("masked body:\n%s", body)
	}
	if resp.Header.Get("X-Echo") != "Bearer "+strings.Repeat("*", len(testToken)) {
		t.Fatalf("masked header: %q", resp.Header.Get("X-Echo"))
	}
	if !strings.Contains(f.logs.String(), "upstream echoed the injected credential") || strings.Contains(f.logs.String(), testToken) {
		t.Fatal("the echo is logged, without the value")
	}

	// An encoded body the scan cannot read does not reach the agent.
	resp, body, err = f.do("GET", "https://api.allowed.test/repos/myorg/gzip", nil, nil)
	if err != nil || resp.StatusCode != http.StatusBadGateway || bytes.Contains(body, []byte(testToken)) {
		t.Fatalf("gzip: %v %v %q", err, resp, body)
	}

	// A route without a credential is passed through untouched.
	resp, body, err = f.do("GET", "https://open.allowed.test/x", nil, nil)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `auth=""`) {
		t.Fatalf("open route: %v %s", err, body)
	}
}

// TestMaskingBodyAnyChunking: however the upstream's bytes arrive, every
// token is masked and nothing else changes.
func TestMaskingBodyAnyChunking(t *testing.T) {
	sc := newScanner(map[string]schemas.Secret{"A": schemas.NewSecret("tok-0123456789abcdef")})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		var in, want bytes.Buffer
		for j := 0; j < 20; j++ {
			if rng.IntN(3) == 0 {
				in.WriteString("tok-0123456789abcdef")
				want.WriteString(strings.Repeat("*", len("tok-0123456789abcdef")))
			} else {
				filler := strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(40))
				in.WriteString(filler)
				want.WriteString(filler)
			}
		}
		var r io.Reader = bytes.NewReader(in.Bytes())
		switch i % 3 {
		case 0:
			r = iotest.OneByteReader(r)
		case 1:
			r = iotest.HalfReader(r)
		}
		length := int64(-1)
		if i%2 == 0 {
			length = int64(in.Len())
		}
		got, err := io.ReadAll(newMaskingBody(io.NopCloser(r), sc, length, nil))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("case %d:\n in  %q\n got %q\nwant %q", i, in.Bytes(), got, want.Bytes())
		}
	}
}
