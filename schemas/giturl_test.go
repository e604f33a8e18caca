package schemas

import (
	"strings"
	"testing"
)

func TestMatchGitPush(t *testing.T) {
	cases := []struct {
		p, b string
		want bool
	}{
		{"agent/*", "agent/x", true},
		{"agent/*", "agent/x/y", false},
		{"agent/*", "agent", false},
		{"agent/*", "agentx/y", false},
		{"agent/*", "main", false},
		{"agent/**", "agent/x/y", true},
		{"agent/**", "agent", false},
		{"main", "main", true},
		{"main", "mainx", false},
		{"fix-*-bot", "fix-12-bot", true},
		{"fix-*-bot", "fix-12-bo", false},
		{"*", "anything", true},
		{"*", "a/b", false},
		{"**/wip", "a/b/wip", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, c := range cases {
		if got := MatchGitPush(c.p, c.b); got != c.want {
			t.Errorf("MatchGitPush(%q, %q) = %v, want %v", c.p, c.b, got, c.want)
		}
	}
}

func TestParseGitURL(t *testing.T) {
	u, why, _ := ParseGitURL("ssh://git@Git.Example.test:22/org/app.git/")
	if why != "" {
		t.Fatal(why)
	}
	if u.String() != "ssh://git@git.example.test/org/app.git/" || u.Base() != "ssh://git@git.example.test/org/app" ||
		u.SCPLike() != "git@git.example.test:org/app" {
		t.Fatalf("%+v %s %s %s", u, u, u.Base(), u.SCPLike())
	}
	h, why, _ := ParseGitURL("https://git.example.test/ORG/app")
	if why != "" || !GitURLsOverlap(u, h) {
		t.Fatalf("the https and ssh URLs of one repo must overlap: %q", why)
	}
	sub, _, _ := ParseGitURL("https://git.example.test/org/app/sub.git")
	other, _, _ := ParseGitURL("https://git.example.test/org/application.git")
	if !GitURLsOverlap(h, sub) || GitURLsOverlap(h, other) {
		t.Fatal("overlap is by whole segments")
	}
	for _, bad := range []string{"", "https://h.test", "https://h.test/a/../b", "https://h.test/a%2fb", "https://u@h.test/a",
		"https://h.test/a?x=1", "https://h.test/a#f", "git://h.test/a", "https://h.test:0/a", "https://h.test/a b"} {
		if _, why, _ := ParseGitURL(bad); why == "" {
			t.Errorf("ParseGitURL(%q) accepted", bad)
		}
	}
}

// FuzzGitPush checks that the push pattern matcher never panics and that
// an accepted pattern without wildcards matches only itself.
func FuzzGitPush(f *testing.F) {
	for _, s := range [][2]string{{"agent/*", "agent/x"}, {"**/a", "b/c/a"}, {"a*b*c", "aabbcc"}, {"main", "main"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, b string) {
		if len(p) > 300 || len(b) > 300 {
			return
		}
		got := MatchGitPush(p, b)
		if CheckGitPushPattern(p) == "" && !strings.Contains(p, "*") && got != (p == b) {
			t.Fatalf("literal pattern %q vs %q: %v", p, b, got)
		}
	})
}

// FuzzParseGitURL checks that an accepted URL round-trips and is
// https or ssh with a DNS host.
func FuzzParseGitURL(f *testing.F) {
	for _, s := range []string{"https://github.com/o/a.git", "ssh://git@h.test:2222/o/a", "http://x/y", "git@h:o/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, why, _ := ParseGitURL(raw)
		if why != "" {
			return
		}
		if u.Scheme != "https" && u.Scheme != "ssh" || CheckHostName(u.Host) != "" {
			t.Fatalf("accepted %q as %+v", raw, u)
		}
		again, why2, _ := ParseGitURL(u.String())
		if why2 != "" || again != u {
			t.Fatalf("%q -> %q does not round-trip: %q %+v", raw, u.String(), why2, again)
		}
	})
}
