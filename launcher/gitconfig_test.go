package launcher

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParseGitConfigPaths(t *testing.T) {
	out := "file:.git/config\x00core.hookspath\n.githooks\x00file:/home/op/.gitconfig\x00include.path\n~/x.inc\x00" +
		"command line:\x00include.path\n/etc/evil\x00file:.git/config\x00includeif.gitdir:/w/.path\n../team\x00"
	got := gitConfigPathsOf(parseGitConfigList([]byte(out)), "/w")
	if len(got) != 3 || got[0].origin != "/w/.git/config" || got[0].key != "core.hookspath" || got[0].value != ".githooks" ||
		got[1].origin != "/home/op/.gitconfig" || got[2].key != "includeif.gitdir:/w/.path" {
		t.Fatalf("%+v", got)
	}
	if p := expandGitPath("~/x.inc", "/home/op", "/ignored"); p != "/home/op/x.inc" {
		t.Errorf("~ expands to %s", p)
	}
	if p := expandGitPath("../team", "/home/op", "/w/.git"); p != "/w/team" {
		t.Errorf("a relative include resolves to %s", p)
	}
}

// FuzzParseGitConfigPaths: whatever git prints, every setting parsed has a
// lower-case key, a value and an absolute, clean origin.
func FuzzParseGitConfigPaths(f *testing.F) {
	f.Add([]byte("file:.git/config\x00core.hookspath\n.githooks\x00"))
	f.Add([]byte("file:/a\x00include.path\n\x00\x00\x00file:\x00x\ny\x00"))
	f.Add([]byte("blob:abc\x00include.path\nx\x00file:../../etc\x00INCLUDE.PATH\n../x\x00"))
	f.Fuzz(func(t *testing.T, out []byte) {
		for _, s := range gitConfigPathsOf(parseGitConfigList(out), "/w") {
			if s.value == "" || s.key != strings.ToLower(s.key) || !filepath.IsAbs(s.origin) || filepath.Clean(s.origin) != s.origin {
				t.Fatalf("parsed %+v", s)
			}
			if p := expandGitPath(s.value, "/home/op", filepath.Dir(s.origin)); !filepath.IsAbs(p) {
				t.Fatalf("%q expands to a relative path %q", s.value, p)
			}
		}
	})
}

// FuzzIsGitPathKey: the filter keeps exactly the keys the regexp the
// launch once passed to git matched (a key git prints has no newline).
func FuzzIsGitPathKey(f *testing.F) {
	re := regexp.MustCompile(gitPathKeys)
	for _, k := range []string{"core.hookspath", "include.path", "includeif.gitdir:/x/.path", "includeif..path",
		"includeif.path", "includeif.a.path.b.path", "core.x.hookspath", "includeif.\xff.path"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if strings.ContainsRune(key, '\n') {
			return
		}
		if got, want := isGitPathKey(key), re.MatchString(key); got != want {
			t.Errorf("isGitPathKey(%q) = %v, the regexp says %v", key, got, want)
		}
	})
}
