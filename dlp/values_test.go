package dlp

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
)

// mime breaks s into 76-character lines, as MIME base64 does.
func mime(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func TestValuesFindEncodings(t *testing.T) {
	secret := dlptest.Random(40)
	v := NewValues([]string{secret})
	h := hex.EncodeToString([]byte(secret))
	mixed := []byte(h)
	for i := range mixed {
		if i%2 == 0 {
			mixed[i] = strings.ToUpper(string(mixed[i]))[0]
		}
	}
	var jsonU strings.Builder
	for _, c := range secret {
		jsonU.WriteString(`\u00` + hex.EncodeToString([]byte{byte(c)}))
	}
	long := strings.Repeat("lorem ipsum ", 8) + secret + strings.Repeat(" dolor", 8)
	for name, s := range map[string]string{
		"raw":            "pre " + secret + " post",
		"hex lower":      h,
		"hex upper":      strings.ToUpper(h),
		"hex mixed":      string(mixed),
		"base64":         base64.StdEncoding.EncodeToString([]byte("xy" + secret)),
		"base64 url":     base64.URLEncoding.EncodeToString([]byte("x" + secret + "?>")),
		"base64 mime":    mime(base64.StdEncoding.EncodeToString([]byte(long))),
		"base64 json \n": strings.ReplaceAll(mime(base64.StdEncoding.EncodeToString([]byte(long))), "\r\n", `\n`),
		"json \\u":       jsonU.String(),
		"percent":        percentAll(secret),
		"percent twice":  strings.ReplaceAll(percentAll(secret), "%", "%25"),
	} {
		if !v.Contains([]byte(s), nil) {
			t.Errorf("%s: not found", name)
		}
	}
	if v.Contains([]byte(strings.Repeat("nothing to see ", 20)), nil) {
		t.Error("found in unrelated text")
	}
}

func percentAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

func TestValuesSplitAcross(t *testing.T) {
	secret := dlptest.Random(40)
	v := NewValues([]string{secret})
	parts := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	h := hex.EncodeToString([]byte(secret))
	for name, ps := range map[string][][]byte{
		"two halves":         parts("Bearer "+secret[:20], secret[20:]),
		"reversed order":     parts(secret[25:]+"; x=1", "gzip", "k="+secret[:25]),
		"three pieces":       parts("a"+secret[:5], secret[5:30], secret[30:]+"z"),
		"hex halves, upper":  parts(strings.ToUpper(h[:30]), h[30:]),
		"one char per value": parts(strings.Split(secret, "")...),
	} {
		if !v.SplitAcross(ps) {
			t.Errorf("%s: not found", name)
		}
	}
	if v.SplitAcross(parts(secret[:20], "other", secret[21:])) {
		t.Error("found with a character missing")
	}
}

func TestShortValuesAreSkipped(t *testing.T) {
	if !NewValues([]string{"short"}).Empty() {
		t.Error("a 5-byte value is looked for")
	}
}
