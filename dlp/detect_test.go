package dlp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
)

func ruleIDs(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func newDetector(t testing.TB, known ...string) *Detector {
	t.Helper()
	d, err := NewDetector(NewValues(known))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDetectorFindsGitleaksRules(t *testing.T) {
	d := newDetector(t)
	if d.RuleCount() < 100 {
		t.Fatalf("only %d rules loaded", d.RuleCount())
	}
	aws, pat := dlptest.AWSKeyID(), dlptest.GitHubPAT()
	body, _ := json.Marshal(map[string]string{"note": "deploy", "aws": aws, "gh": pat})
	fs := d.Find(body, nil)
	ids := ruleIDs(fs)
	if !slices.Contains(ids, "aws-access-token") || !slices.Contains(ids, "github-pat") {
		t.Fatalf("rules found %v, want aws-access-token and github-pat", ids)
	}
	for _, f := range fs {
		got := string(body[f.Start:f.End])
		if got != aws && got != pat {
			t.Errorf("finding %s points at the wrong bytes (len %d)", f.Rule, len(got))
		}
	}
}

func TestDetectorIgnoresOrdinaryText(t *testing.T) {
	d := newDetector(t)
	for _, s := range []string{
		`{"model":"x","messages":[{"role":"user","content":"write a function that parses api keys"}]}`,
		`api_key = "` + strings.Repeat("ab", 20) + `"`, // generic-api-key is excluded
		"AKIAIOSFODNN7EXAMPLE", // gitleaks' own allowlist
	} {
		if fs := d.Find([]byte(s), nil); len(fs) > 0 {
			t.Errorf("%.40q: found %v", s, ruleIDs(fs))
		}
	}
}

func TestDetectorFindsEscapedSecrets(t *testing.T) {
	d := newDetector(t)
	aws := dlptest.AWSKeyID()
	var esc strings.Builder
	for _, c := range aws {
		esc.WriteString(`\u00`)
		esc.WriteString(strings.ToUpper(string("0123456789abcdef"[c>>4])) + string("0123456789abcdef"[c&15]))
	}
	for name, s := range map[string]string{
		"json \\u":   `{"k":"` + esc.String() + `"}`,
		"percent":    "k=" + strings.ReplaceAll(aws, "A", "%41"),
		"percent x2": "k=" + strings.ReplaceAll(aws, "A", "%2541"),
	} {
		fs := d.Find([]byte(s), nil)
		if !slices.Contains(ruleIDs(fs), "aws-access-token") {
			t.Errorf("%s: not found", name)
			continue
		}
		if !fs[0].Decoded {
			t.Errorf("%s: finding not marked decoded", name)
		}
	}
}

func TestDetectorFindsKnownValues(t *testing.T) {
	secret := dlptest.Random(32)
	d := newDetector(t, secret)
	fs := d.Find([]byte("x="+secret), nil)
	if !slices.Contains(ruleIDs(fs), RuleKnownSecret) {
		t.Fatalf("known value not found: %v", ruleIDs(fs))
	}
}

// TestDetectorFindsEscapedKnownValues: a known value behind escapes is
// found in a decoded view, and the views are not corrupted by the search.
func TestDetectorFindsEscapedKnownValues(t *testing.T) {
	secret := dlptest.Random(32)
	d := newDetector(t, secret)
	var esc strings.Builder
	for _, c := range []byte(secret) {
		esc.WriteString(`\u00` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]))
	}
	aws := dlptest.AWSKeyID()
	data := []byte("%41%42 line\n" + esc.String() + " and " + strings.ReplaceAll(aws, "A", "%41"))
	ids := ruleIDs(d.Find(data, &Scratch{}))
	if !slices.Contains(ids, RuleKnownSecret) || !slices.Contains(ids, "aws-access-token") {
		t.Fatalf("found %v", ids)
	}
}
