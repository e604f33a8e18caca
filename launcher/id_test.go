package launcher

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSlugAndID(t *testing.T) {
	cases := map[string]string{
		"claude-base":            "claude-base",
		"My_Bottle.v2":           "my-bottle-v2",
		"--x--":                  "x",
		"":                       "bottle",
		"ÄÖÜ":                    "bottle",
		strings.Repeat("a", 100): strings.Repeat("a", maxSlug),
	}
	for in, want := range cases {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id, err := NewID("demo")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, "demo-") || len(id) != len("demo-")+6 || CheckID(id) != "" {
			t.Fatalf("NewID = %q", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q within 200 ids", id)
		}
		seen[id] = true
	}
}

func TestCheckIDRefusesPaths(t *testing.T) {
	for _, bad := range []string{"", "..", "../x", "a/b", "A", "x y", ".hidden", strings.Repeat("a", 60)} {
		if CheckID(bad) == "" {
			t.Errorf("CheckID(%q) accepted", bad)
		}
	}
}

// FuzzSlug: whatever the name, the id built from it is a safe path element
// and a valid container name.
func FuzzSlug(f *testing.F) {
	for _, s := range []string{"demo", "claude-base", "../../etc", "a b\tc", "日本", strings.Repeat("-a", 50)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := Slug(name)
		if s == "" || len(s) > maxSlug || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("Slug(%q) = %q", name, s)
		}
		id, err := NewID(name)
		if err != nil {
			t.Fatal(err)
		}
		if why := CheckID(id); why != "" {
			t.Fatalf("NewID(%q) = %q, which CheckID refuses: %s", name, id, why)
		}
	})
}

// FuzzCheckID: an id CheckID accepts never leaves the run root.
func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"demo-abcdef", "..", "a/../..", "x\x00y", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if CheckID(id) != "" {
			return
		}
		root := "/home/u/.bot-bottle/run"
		p := filepath.Join(root, id)
		if filepath.Dir(p) != root || filepath.Base(p) != id {
			t.Fatalf("CheckID accepted %q, which lands at %s", id, p)
		}
	})
}
