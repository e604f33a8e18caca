package schemas

import (
	"strings"
	"testing"
)

func TestRedactQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/repos/x", "/repos/x"},
		{"", ""},
		{"/search?q=ghp_secret&page=2", "/search?[redacted]"},
		{"/a?ghp_secret", "/a?[redacted]"},
		{"/a#access_token=ghp_secret", "/a?[redacted]"},
		{"/a?", "/a"},
		{"https://h.example/p?sig=abc", "https://h.example/p?[redacted]"},
		{"?token=1", "?[redacted]"},
	}
	for _, c := range cases {
		got := RedactQuery(c.in)
		if got != c.want {
			t.Errorf("RedactQuery(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "sig=") {
			t.Errorf("RedactQuery(%q) = %q still carries the query", c.in, got)
		}
	}
}

func FuzzRedactQuery(f *testing.F) {
	for _, s := range []string{"/a?b=c", "/a#b", "/plain", "?", "/x?y?z#w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got := RedactQuery(path)
		rest := strings.TrimSuffix(got, RedactedQuery)
		if strings.ContainsAny(rest, "?#") {
			t.Fatalf("RedactQuery(%q) = %q keeps a query or fragment", path, got)
		}
		if !strings.HasPrefix(path, rest) {
			t.Fatalf("RedactQuery(%q) = %q changed the path", path, got)
		}
	})
}
