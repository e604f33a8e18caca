package schemas

import (
	"path"
	"strings"
	"testing"
)

// FuzzHiddenPath: what HiddenPath accepts is an absolute, clean path other
// than / with nothing a person could be misled by, and an entry differing
// only by a trailing / names the same path.
func FuzzHiddenPath(f *testing.F) {
	for _, s := range []string{"/data", "/data/", "/", "", "~/x", "rel", "/a/../b", "/a//b", "/a/\u202e", "/a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		p, why := HiddenPath(entry)
		if why != "" {
			if p != "" {
				t.Fatalf("%q refused (%s) but named %q", entry, why, p)
			}
			return
		}
		if !strings.HasPrefix(p, "/") || p == "/" || path.Clean(p) != p || strings.ContainsFunc(p, unsafeRune) {
			t.Fatalf("%q accepted as %q", entry, p)
		}
		if q, why := HiddenPath(p + "/"); why != "" || q != p {
			t.Fatalf("%q/ names %q (%s), want %q", p, q, why, p)
		}
	})
}
