package egressproxy

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	ok := map[string]string{
		"/":                   "/",
		"/a/b":                "/a/b",
		"/a/b/":               "/a/b/",
		"/a%20b":              "/a b",
		"/caf%C3%A9":          "/café",
		"/caf%c3%a9":          "/café",
		"/a;b=c/d":            "/a;b=c/d",
		"/a:b@c!$&'()*+,=":    "/a:b@c!$&'()*+,=",
		"/%25":                "/%",
		"/.well-known/x":      "/.well-known/x",
		"/a..b/...":           "/a..b/...",
		"/repos/myorg/x.git/": "/repos/myorg/x.git/",
	}
	for raw, want := range ok {
		if got, ok := normalizePath(raw); !ok || got != want {
			t.Errorf("normalizePath(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"", "a", "*", "/a/../b", "/a/./b", "/..", "/.", "/a/..", "/a//b", "//a", "/a/%2e%2e/b",
		"/a/%2E/b", "/a%2fb", "/a%2Fb", "/a%5cb", "/a\\b", "/a%00b", "/a\x00b", "/a%0ab", "/a%7f", "/a b", "/a%",
		"/a%2", "/a%zz", "/a%41", "/%7e", "/a/..;/b", "/a/.;x/b", "/%c0%ae", "/%ff", "/a#b", "/a?b", "/é", "/a\tb"} {
		if got, ok := normalizePath(raw); ok {
			t.Errorf("normalizePath(%q) accepted as %q", raw, got)
		}
	}
}

// FuzzNormalizePath: whatever the normaliser accepts is already normal
// (cleaning it changes nothing), has the same segments decoded as sent, and
// is what Go's URL handling will forward byte for byte.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/b/", "/a/../b", "/%2e%2e/", "/a%2fb", "//x", "/a\\b", "/caf%C3%A9", "/%c0%ae", "/a;b/..;/c", "/a%25b", "/x%20y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dec, ok := normalizePath(raw)
		if !ok {
			return
		}
		clean := path.Clean(dec)
		if strings.HasSuffix(dec, "/") && dec != "/" {
			clean += "/"
		}
		if clean != dec {
			t.Fatalf("accepted %q decodes to %q, which cleans to %q", raw, dec, clean)
		}
		if strings.Count(dec, "/") != strings.Count(raw, "/") {
			t.Fatalf("accepted %q changes segments: %q", raw, dec)
		}
		if strings.ContainsAny(dec, "\\\x00") {
			t.Fatalf("accepted %q holds a backslash or NUL: %q", raw, dec)
		}
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatalf("accepted %q, which net/url rejects: %v", raw, err)
		}
		if u.EscapedPath() != raw {
			t.Fatalf("accepted %q, forwarded as %q", raw, u.EscapedPath())
		}
		for _, seg := range strings.Split(dec, "/")[1:] {
			name, _, _ := strings.Cut(seg, ";")
			if name == "." || name == ".." {
				t.Fatalf("accepted %q with a dot segment", raw)
			}
		}
	})
}
