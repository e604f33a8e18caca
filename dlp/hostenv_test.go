package dlp

import (
	"slices"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
)

func TestHostSecrets(t *testing.T) {
	aws, tok, given, pw := dlptest.AWSKeyID(), dlptest.Random(32), dlptest.Random(32), dlptest.Random(24)
	env := map[string]string{
		"DEPLOY_TOKEN":      tok,             // a secret name, random
		"MY_VAR":            aws,             // an innocent name, a credential pattern
		"DB_PASSWORD":       pw,              // PASSWORD inside a word
		"GITHUB_TOKEN":      given,           // the bottle's own token
		"API_KEY":           "changeme",      // too short
		"SECRET_MODE":       "production-eu", // a setting: low entropy
		"HOME":              "/home/someone/with/a/long/path",
		"MULTI_LINE_SECRET": tok + "\n" + tok,
	}
	got, err := HostSecrets(env, []string{given})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{aws, pw, tok}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("host secrets: got %d values, want %d (the deploy token, the AWS key, the password)", len(got), len(want))
	}
}
