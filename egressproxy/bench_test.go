package egressproxy

import (
	"compress/gzip"

	"bytes"
	"github.com/bot-bottle/bot-bottle/dlp"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// BenchmarkDecide measures the whole per-request check of an allowed
// request: host, route lookup, path normalisation, prefixes, method, git
// push and URL token scan.
func BenchmarkDecide(b *testing.B) {
	f := newFixture(b, defaultRoutes)
	req, _ := http.NewRequest("GET", "https://api.allowed.test/repos/myorg/project/pulls?state=open", nil)
	req.RequestURI = "/repos/myorg/project/pulls?state=open"
	tun := &tunnel{host: "api.allowed.test", port: 443}
	b.ReportAllocs()
	for b.Loop() {
		if d, _, _ := f.proxy.decide(req, tun); !d.Allow {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkMatch measures route lookup and segment-aware prefix matching
// alone, on a table of 100 hosts.
func BenchmarkMatch(b *testing.B) {
	rf := &schemas.RoutesFile{Version: 1}
	for i := range 100 {
		rf.Routes = append(rf.Routes, schemas.RouteRule{Host: "h" + strings.Repeat("x", i%10) + string(rune('a'+i%26)) + ".example.com" + string(rune('a'+i/26)),
			PathAllowlist: []string{"/a/", "/b/c", "/repos/org" + string(rune('a'+i%26)) + "/"}})
	}
	rf.Routes = append(rf.Routes, schemas.RouteRule{Host: "api.github.com", PathAllowlist: []string{"/orgs/x/", "/repos/myorg/"}})
	t, err := compileTable(rf, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, reason := t.lookup("api.github.com", 443, 443)
		dec, ok := normalizePath("/repos/myorg/project/pulls/12/files")
		if reason != ReasonAllowed || !ok || r.admits("GET", dec) != ReasonAllowed {
			b.Fatal("no match")
		}
	}
}

// BenchmarkScanHeaders scans a typical request's headers for two tokens.
func BenchmarkScanHeaders(b *testing.B) {
	f := newFixture(b, defaultRoutes)
	h := http.Header{
		"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		"Accept":     {"application/vnd.github+json"}, "Content-Type": {"application/json"},
		"Cookie": {"session=" + strings.Repeat("ab12", 40)}, "X-Request-Id": {"7d0c1f2e-2a4b-4c5d-8e9f-0a1b2c3d4e5f"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if f.proxy.headersCarryToken(h) {
			b.Fatal("false positive")
		}
	}
}

// BenchmarkScanBody streams a 1 MiB body through the token scanner.
func BenchmarkScanBody(b *testing.B) {
	sc := testScanner()
	body := bytes.Repeat([]byte(`{"key":"value","n":12345,"s":"abc%20def"} `), (1<<20)/42)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		sb := newScanBody(nil, io.NopCloser(bytes.NewReader(body)), sc, nil, 0)
		if _, err := io.Copy(io.Discard, sb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanBodyDLP is BenchmarkScanBody with the DLP rules (gitleaks'
// rules and a host secret) applied too.
func BenchmarkScanBodyDLP(b *testing.B) {
	sc := testScanner()
	det, err := dlp.NewDetector(dlp.NewValues([]string{"host-secret-value-0123456789abcdef"}))
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte(`{"key":"value","n":12345,"s":"abc%20def"} `), (1<<20)/42)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		sb := newScanBody(nil, io.NopCloser(bytes.NewReader(body)), sc, det, 0)
		if _, err := io.Copy(io.Discard, sb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepareBodyDLP buffers, decodes (gzip) and scans a 256 KiB JSON
// body with the token scanner and the DLP rules, as a request's body is.
func BenchmarkPrepareBodyDLP(b *testing.B) {
	sc := testScanner()
	det, err := dlp.NewDetector(nil)
	if err != nil {
		b.Fatal(err)
	}
	plain := bytes.Repeat([]byte(`{"role":"user","content":"func main() { fmt.Println(\"hello\") }"} `), (256<<10)/70)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(plain)
	zw.Close()
	lim := DefaultLimits
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "https://api.allowed.test/x", bytes.NewReader(zb.Bytes()))
		req.Header.Set("Content-Encoding", "gzip")
		reason, bd := prepareBody(req, sc, det, lim)
		if reason != ReasonAllowed || len(det.Find(bd.plain, nil)) > 0 {
			b.Fatal("refused")
		}
	}
}

// BenchmarkProxyRequest sends GETs through a MITM'd tunnel on a kept-alive
// connection to a TLS upstream on loopback (all in this process).
func BenchmarkProxyRequest(b *testing.B) {
	f := newFixture(b, defaultRoutes)
	u, _ := url.Parse("https://api.allowed.test/repos/myorg/x")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := f.client.Get(u.String())
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}

// BenchmarkDirectRequest is BenchmarkProxyRequest without the proxy, for
// the ratio.
func BenchmarkDirectRequest(b *testing.B) {
	f := newFixture(b, defaultRoutes)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: f.client.Transport.(*http.Transport).TLSClientConfig.Clone()}}
	c.Transport.(*http.Transport).TLSClientConfig.ServerName = "api.allowed.test"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get("https://" + f.up.addr() + "/repos/myorg/x")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkDLPHeaders applies the DLP rules to a typical request's URL and
// headers, as every request through a decrypted route gets.
func BenchmarkDLPHeaders(b *testing.B) {
	f := newFixture(b, defaultRoutes)
	req, _ := http.NewRequest("GET", "https://api.github.com/repos/myorg/project/pulls?state=open&per_page=100", nil)
	req.RequestURI = "/repos/myorg/project/pulls?state=open&per_page=100"
	req.Header = http.Header{
		"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		"Accept":     {"application/vnd.github+json"}, "Content-Type": {"application/json"},
		"Cookie": {"session=" + strings.Repeat("ab12", 40)}, "X-Request-Id": {"7d0c1f2e-2a4b-4c5d-8e9f-0a1b2c3d4e5f"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if fs := f.proxy.scanDLP(req, &body{}); len(fs) > 0 {
			b.Fatalf("false positive: %v", rulesOf(fs))
		}
	}
}
