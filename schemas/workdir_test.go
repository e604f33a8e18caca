package schemas

import (
	"slices"
	"strings"
	"testing"
)

func TestWritableName(t *testing.T) {
	ok := map[string]string{".vscode": ".vscode", ".vscode/": ".vscode", ".git/hooks": ".git/hooks", ".mcp.json": ".mcp.json"}
	for in, want := range ok {
		if got, why := WritableName(in); got != want || why != "" {
			t.Errorf("WritableName(%q) = %q, %q; want %q", in, got, why, want)
		}
	}
	for _, in := range []string{"", "/", ".git", "src", "../.vscode", "/abs/.vscode", "~/.claude", "./.idea", ".git//hooks",
		".git\\hooks", ".vscode//", ".VSCODE", ".vscode\n", ".git/hooks/pre-commit", ".claude/settings.json"} {
		if got, why := WritableName(in); got != "" || why == "" {
			t.Errorf("WritableName(%q) = %q, %q; want a refusal", in, got, why)
		}
	}
}

func TestProtectedPathsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range ProtectedPaths {
		if name, why := WritableName(p.Name); name != p.Name || why != "" {
			t.Errorf("protected path %q is not a valid writable entry: %s", p.Name, why)
		}
		if seen[p.Name] || p.Why == "" {
			t.Errorf("protected path %q listed twice or without a reason", p.Name)
		}
		seen[p.Name] = true
	}
	// The floor set by the issue and by sandbox-runtime's mandatory denies.
	for _, must := range []string{".git/hooks", ".git/config", ".git/modules", ".gitmodules", ".vscode", ".idea", ".envrc",
		".claude", ".mcp.json", ".codex", ".gitconfig", ".bashrc", ".bash_profile", ".zshrc", ".zprofile", ".profile", ".ripgreprc"} {
		if !seen[must] {
			t.Errorf("%s is not protected", must)
		}
	}
}

func TestWorkdirDecodes(t *testing.T) {
	m, err := ParseManifest("w.yaml", []byte("workdir:\n  writable: [.vscode/, .git/hooks]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Workdir.Writable, []string{".vscode/", ".git/hooks"}) || len(m.Workdir.WritableAt) != 2 ||
		m.Workdir.WritableAt[1].Line != 2 || m.Workdir.WritableAt[1].Col != 24 {
		t.Fatalf("%+v", m.Workdir)
	}
}

// FuzzWritableName checks that an accepted entry always names a protected
// path inside the workdir, whatever was written.
func FuzzWritableName(f *testing.F) {
	for _, s := range []string{".vscode/", "../x", "/a", ".git/hooks", "", ".git//hooks", "a/../.claude"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, why := WritableName(s)
		if (name == "") == (why == "") {
			t.Fatalf("WritableName(%q) = %q, %q: exactly one must be set", s, name, why)
		}
		if name == "" {
			return
		}
		if !IsProtectedName(name) || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
			t.Fatalf("WritableName(%q) accepted %q", s, name)
		}
	})
}
