package bottleinit

import (
	"strings"
	"testing"
)

func TestUnescapeMountinfo(t *testing.T) {
	cases := map[string]string{
		`/mnt/with\040space`: "/mnt/with space",
		`/a\134b`:            `/a\b`,
		`/plain`:             "/plain",
		`/trailing\04`:       `/trailing\04`,
		`/bad\999`:           `/bad\999`,
	}
	for in, want := range cases {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzUnescapeMountinfo(f *testing.F) {
	for _, s := range []string{`/a\040b`, `\`, `\0`, `\04`, `\040`, `\777`, "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := unescapeMountinfo(s)
		if len(got) > len(s) {
			t.Fatalf("unescape grew %q to %q", s, got)
		}
		if !strings.Contains(s, `\`) && got != s {
			t.Fatalf("unescape changed %q to %q", s, got)
		}
	})
}

func TestUnder(t *testing.T) {
	if !under("/proc", "/proc") || !under("/proc/sys", "/proc") || under("/process", "/proc") {
		t.Fatal("under is not segment-aware")
	}
}
