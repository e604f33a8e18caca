package dlp

import (
	"slices"
	"strings"
)

// Which host variables count as secrets the bottle was not given: a value
// of at least MinHostSecretLen bytes, one line, that either sits under a
// name that says it is a credential (…_TOKEN, …_KEY, …_SECRET, …PASSWORD…,
// …_CREDENTIALS, …_PAT, …AUTH…) and looks random (entropy), or matches one
// of gitleaks' rules whatever its name. Values the bottle was given (its
// own env, its token slots) are left out: they are the bottle's to use,
// and its tokens are refused by the proxy anyway.

// MinHostSecretLen is the shortest host value taken for a secret.
const MinHostSecretLen = 12

// minHostSecretEntropy is the Shannon entropy (bits per character) below
// which a value under a secret-sounding name is taken for a setting, not a
// secret ("production", "/home/me/.keys", "changeme").
const minHostSecretEntropy = 3.5

// secretNameWords are the name words that mark a credential.
var secretNameWords = []string{"TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS", "PAT",
	"CREDENTIAL", "CREDENTIALS", "AUTH", "APIKEY", "KEY", "PRIVATE", "COOKIE", "SESSION", "DSN"}

// SecretName reports whether a variable's name says it holds a credential.
func SecretName(name string) bool {
	up := strings.ToUpper(name)
	if strings.Contains(up, "PASSWORD") {
		return true
	}
	for w := range strings.FieldsFuncSeq(up, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if slices.Contains(secretNameWords, w) {
			return true
		}
	}
	return false
}

// HostSecrets returns the values of env that count as secrets, less those
// in given. It never returns names: the proxy needs only the values, and
// the names would tell the agent what the host holds.
func HostSecrets(env map[string]string, given []string) ([]string, error) {
	det, err := NewDetector(nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, v := range env {
		v = strings.TrimSpace(v)
		if len(v) < MinHostSecretLen || strings.ContainsAny(v, "\r\n") || slices.Contains(given, v) || slices.Contains(out, v) {
			continue
		}
		if (SecretName(name) && entropy(v) >= minHostSecretEntropy) || len(det.Find([]byte(v), nil)) > 0 {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}
