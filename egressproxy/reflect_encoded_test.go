package egressproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// slashToken is a credential with the characters that encoders escape: '/'
// and '+' (as AWS secret keys and SAS signatures have) and '_'.
const slashToken = "aws/SECRET+key/0123_456789abcdefXYZ"

// jsonEscapeAll writes s as a JSON string body with every non-alphanumeric
// character as \u00XX (upper or lower hex), as some encoders do.
func jsonEscapeAll(s string, upper bool) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case upper:
			fmt.Fprintf(&b, `\u%04X`, c)
		default:
			fmt.Fprintf(&b, `\u%04x`, c)
		}
	}
	return b.String()
}

// htmlEntities writes s with the given characters as character references.
func htmlEntities(s string, ref func(rune) string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune("/+_ ", c) {
			b.WriteString(ref(c))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// TestAttackTransformedEchoIsMasked is issue #12 leak 5: an authenticated
// upstream echoes the injected header transformed the way real encoders do
// (PHP's json_encode escapes '/' as "\/", others write \u00XX, HTML pages
// use character references, redirects percent-encode), in the body, split
// across writes, and in headers. The agent must read the token in none of
// those forms, decoded or not.
func TestAttackTransformedEchoIsMasked(t *testing.T) {
	forms := map[string]func(auth string) string{
		"json-slash":   func(a string) string { return strings.ReplaceAll(a, "/", `\/`) },
		"json-u-lower": func(a string) string { return jsonEscapeAll(a, false) },
		"json-u-upper": func(a string) string { return jsonEscapeAll(a, true) },
		"html-dec":     func(a string) string { return htmlEntities(a, func(c rune) string { return fmt.Sprintf("&#%d;", c) }) },
		"html-hex":     func(a string) string { return htmlEntities(a, func(c rune) string { return fmt.Sprintf("&#x%X;", c) }) },
		"html-named":   func(a string) string { return htmlEntities(a, namedRef) },
		"html-nosemi":  func(a string) string { return htmlEntities(a, func(c rune) string { return fmt.Sprintf("&#%d", c) }) },
		"percent":      func(a string) string { return url.QueryEscape(a) },
		"json-of-b64": func(a string) string {
			return strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(a)), "/", `\/`)
		},
		"json-marshaled": func(a string) string { b, _ := json.Marshal(a); return strings.ReplaceAll(string(b), "/", `\/`) },
	}
	names := make([]string, 0, len(forms))
	for n := range forms {
		names = append(names, n)
	}
	extra := map[string]http.Handler{
		"/echo": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			form := forms[r.URL.Query().Get("form")]
			enc := form(auth)
			w.Header().Set("X-Echo", enc)
			w.Header().Set("Location", "/login?next="+url.QueryEscape(auth))
			if r.URL.Query().Get("split") != "" {
				// The encoded form split in the middle, a flush between.
				io.WriteString(w, `{"echo":"`+enc[:len(enc)/2])
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
				io.WriteString(w, enc[len(enc)/2:]+`"}`)
				return
			}
			io.WriteString(w, `{"echo":"`+enc+`"}`)
		}),
	}
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "api.allowed.test")
	echo := newUpstream(t, &leaf, extra)
	f := newFixture(t, []schemas.RouteRule{{Host: "api.allowed.test", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}}},
		func(c *Config) {
			c.Tokens["EGRESS_TOKEN_0"] = schemas.NewSecret(slashToken)
			c.Resolve["api.allowed.test:443"] = echo.addr()
			c.UpstreamRoots.AddCert(pki.Cert())
		})
	for _, name := range names {
		for _, split := range []string{"", "1"} {
			q := "?form=" + name
			if split != "" {
				q += "&split=1"
			}
			resp, body, err := f.do("GET", "https://api.allowed.test/echo"+q, nil, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %v %v", name, err, resp)
			}
			for where, got := range map[string]string{"body": string(body), "X-Echo": resp.Header.Get("X-Echo"), "Location": resp.Header.Get("Location")} {
				if leaked(got, slashToken) {
					t.Errorf("%s (split %q): the agent can read the credential in %s (not shown)", name, split, where)
				}
			}
		}
	}
}

// namedRef returns an HTML named character reference for c.
func namedRef(c rune) string {
	return map[rune]string{'/': "&sol;", '+': "&plus;", '_': "&lowbar;", ' ': "&#32;"}[c]
}

var jsonUnescapeRe = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)

// leaked reports whether s holds tok in any form the agent could decode it
// from: as is, JSON-unescaped, HTML-unescaped, percent-decoded, or the
// base64 of "Bearer "+tok.
func leaked(s, tok string) bool {
	views := []string{s, html.UnescapeString(s)}
	views = append(views, jsonUnescapeRe.ReplaceAllStringFunc(strings.ReplaceAll(s, `\/`, "/"), func(m string) string {
		n, _ := strconv.ParseUint(m[2:], 16, 32)
		return string(rune(n))
	}))
	if u, err := url.QueryUnescape(s); err == nil {
		views = append(views, u)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("Bearer " + tok))
	for _, v := range views {
		if strings.Contains(v, tok) || strings.Contains(v, b64[12:len(b64)-4]) {
			return true
		}
	}
	return false
}

// FuzzMaskToken: whatever the bytes, masking keeps their length, changes
// bytes only to '*', and leaves no pattern in the bytes or in any decoded
// view of them.
func FuzzMaskToken(f *testing.F) {
	const tok = "tok/en+0123_x"
	sc := newScanner(map[string]schemas.Secret{"A": schemas.NewSecret(tok)})
	for _, s := range []string{
		tok, `tok\/en+0123_x`, `tok\u002fen\u002B0123\u005fx`, "tok&#47;en&plus;0123&lowbar;x", "tok&#x2f;en&#43;0123&#95x",
		"tok%2Fen%2B0123_x", `\ud83d\ude00tok\/en`, `\ud800\u0041`, "&amp;&lt&#;&#x;&#12345678901", `\u00`, "%", "&", `\`,
		base64.StdEncoding.EncodeToString([]byte("Bearer " + tok)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := bytes.Clone(in)
		sc.maskToken(out)
		if len(out) != len(in) {
			t.Fatalf("length %d -> %d", len(in), len(out))
		}
		for i := range out {
			if out[i] != in[i] && out[i] != '*' {
				t.Fatalf("byte %d changed to %q", i, out[i])
			}
		}
		var v view
		for _, p := range sc.patterns {
			if bytes.Contains(out, p) {
				t.Fatalf("pattern %q left in %q", p, out)
			}
			for _, dec := range responseDecoders {
				if dec.decodeView(&v, out) && bytes.Contains(v.dec, p) {
					t.Fatalf("pattern %q left in the %q view of %q: %q", p, dec.trigger, out, v.dec)
				}
			}
		}
	})
}
