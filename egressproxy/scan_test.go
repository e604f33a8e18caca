package egressproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func testScanner() *scanner {
	return newScanner(map[string]schemas.Secret{"EGRESS_TOKEN_0": schemas.NewSecret(testToken)})
}

// Every base64 encoding of the token, at any offset in any surrounding
// bytes, contains one of the stable patterns.
func TestBase64AtEveryAlignment(t *testing.T) {
	sc := testScanner()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		for pre := range 7 {
			for post := range 4 {
				data := make([]byte, pre+len(testToken)+post)
				for i := range data {
					data[i] = byte(rng.IntN(256))
				}
				copy(data[pre:], testToken)
				if !sc.found([]byte(enc.EncodeToString(data))) {
					t.Errorf("missed base64 with %d bytes before and %d after", pre, post)
				}
			}
		}
	}
}

func TestScannerForms(t *testing.T) {
	sc := testScanner()
	found := []string{
		testToken, "x" + testToken + "y",
		hex.EncodeToString([]byte(testToken)), strings.ToUpper(hex.EncodeToString([]byte(testToken))),
		url.QueryEscape(testToken), url.PathEscape(testToken),
		strings.ReplaceAll(url.QueryEscape(testToken), "T", "%54"),
		strings.ReplaceAll(url.QueryEscape(testToken), "T", "%2554"),
		url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(testToken))),
	}
	for _, s := range found {
		if !sc.found([]byte(s)) {
			t.Errorf("missed %q", s)
		}
	}
	for _, s := range []string{"", "ghp_", testToken[:len(testToken)-1], strings.ToLower(testToken)} {
		if sc.found([]byte(s)) {
			t.Errorf("false positive on %q", s)
		}
	}
	if got := sc.redactPath("/a/" + testToken + "/b"); got != "/a/[redacted]/b" {
		t.Errorf("redactPath: %q", got)
	}
	if got := newScanner(map[string]schemas.Secret{"X": schemas.NewSecret("short")}); got.enabled() {
		t.Error("a 5-byte token is scanned for: false positives everywhere")
	}
}

// oneByteReader returns its data one byte per Read, so every split of a
// token across reads is exercised.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

func TestScanBodyEverySplit(t *testing.T) {
	sc := testScanner()
	for _, form := range []string{testToken, base64.StdEncoding.EncodeToString([]byte("ab" + testToken)), url.QueryEscape("%" + testToken)} {
		for pre := 0; pre < 200; pre += 37 {
			body := strings.Repeat("-", pre) + form + strings.Repeat("+", 3000)
			sb := newScanBody(nil, io.NopCloser(oneByteReader{strings.NewReader(body)}), sc, nil, 0)
			out, err := io.ReadAll(sb)
			if err != errTokenInBody || !sb.foundToken.Load() {
				t.Fatalf("form %q at %d: err %v", form, pre, err)
			}
			if bytes.Contains(out, []byte(form)) || bytes.Contains(out, []byte(testToken)) {
				t.Fatalf("the token left before it was seen")
			}
		}
	}
	clean := strings.Repeat("0123456789abcdef", 10000)
	sb := newScanBody([]byte("head"), io.NopCloser(strings.NewReader(clean)), sc, nil, 0)
	out, err := io.ReadAll(sb)
	if err != nil || string(out) != "head"+clean {
		t.Fatalf("clean body: %v, %d bytes", err, len(out))
	}
}
