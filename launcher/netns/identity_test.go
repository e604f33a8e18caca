package netns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSub(t testing.TB, content string) string {
	p := filepath.Join(t.TempDir(), "subuid")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSubRange(t *testing.T) {
	cases := []struct {
		content     string
		start, size int
		err         string
	}{
		{"", fixedRangeStart, fixedRangeSize, ""},
		{"alice:100000:65536\n", fixedRangeStart, fixedRangeSize, ""},
		{"alice:100000:65536\nroot:165536:65536\n", 165536, 65536, ""},
		{"0:200000:10\n", 200000, 10, ""},
		{"root:0:65536\n", 0, 0, "includes uid 0"},
		{"root:-5:10\n", 0, 0, "includes uid 0"},
		{"root:4294967290:100\n", 0, 0, "out of bounds"},
		{"root:x:10\n", 0, 0, "subuid:1: want root:START:COUNT"},
		{"alice:1:1\nroot:10\n", 0, 0, "subuid:2: want root:START:COUNT"},
		{"root:10:0\n", 0, 0, "want root:START:COUNT"},
	}
	for _, c := range cases {
		start, size, err := subRange(writeSub(t, c.content))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.content, err, c.err)
			}
			continue
		}
		if err != nil || start != c.start || size != c.size {
			t.Errorf("%q: %d+%d %v, want %d+%d", c.content, start, size, err, c.start, c.size)
		}
	}
	if start, size, err := subRange(filepath.Join(t.TempDir(), "none")); err != nil || start != fixedRangeStart || size != fixedRangeSize {
		t.Errorf("no file: %d+%d %v, want the fixed range", start, size, err)
	}
}

// FuzzSubRange: whatever /etc/subuid holds, a range that includes host
// uid 0 is never returned.
func FuzzSubRange(f *testing.F) {
	for _, s := range []string{"root:100000:65536\n", "root:0:1\n", "0:1:4294967295\n", "root::\n", "root:1:1:1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		start, size, err := subRange(writeSub(t, content))
		if err != nil {
			return
		}
		if start <= 0 || size <= 0 || start+size > 1<<32-1 {
			t.Fatalf("%q: range %d+%d", content, start, size)
		}
	})
}
