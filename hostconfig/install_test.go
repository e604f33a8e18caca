package hostconfig

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func stdioServer(t *testing.T) Server {
	t.Helper()
	s, err := Stdio("/usr/local/bin/bot-bottle", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInstallCreates: a client that has no config yet gets one, in a
// folder created for it, readable by its owner only.
func TestInstallCreates(t *testing.T) {
	home := t.TempDir()
	for _, c := range Clients {
		path, err := DefaultFile(c, map[string]string{"HOME": home})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Install(c, path, stdioServer(t))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || !res.Changed || res.Path != path {
			t.Errorf("%s: result %+v", c, res)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, Render(c, stdioServer(t))) {
			t.Errorf("%s: wrote\n%s", c, got)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: new file mode %v, want 0600", c, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(filepath.Join(home, ".codex")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("~/.codex: %v %v", fi.Mode(), err)
	}
}

// TestInstallTwice: the second install finds the entry and writes nothing:
// same bytes, same inode, no temporary file left.
func TestInstallTwice(t *testing.T) {
	dir := t.TempDir()
	for _, c := range Clients {
		path := filepath.Join(dir, string(c)+".conf")
		if _, err := Install(c, path, stdioServer(t)); err != nil {
			t.Fatal(err)
		}
		first, _ := os.ReadFile(path)
		fi1, _ := os.Stat(path)
		res, err := Install(c, path, stdioServer(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed || res.Created {
			t.Errorf("%s: second install %+v, want nothing done", c, res)
		}
		second, _ := os.ReadFile(path)
		fi2, _ := os.Stat(path)
		if !bytes.Equal(first, second) || !os.SameFile(fi1, fi2) {
			t.Errorf("%s: the second install rewrote the file", c)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(Clients) {
		t.Errorf("files left in the folder: %v", entries)
	}
}

// TestInstallKeepsModeAndLink: a config reached through a symlink (dotfile
// managers) is merged in its target; the link and the target's mode stay.
func TestInstallKeepsModeAndLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "config.toml")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("model = \"o3\"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.toml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	res, err := Install(Codex, link, stdioServer(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != target || !res.Changed {
		t.Errorf("result %+v, want the target changed", res)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced")
	}
	fi, _ := os.Stat(target)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	got, _ := os.ReadFile(target)
	if !strings.HasPrefix(string(got), "model = \"o3\"\n\n[mcp_servers.bot-bottle]\n") {
		t.Errorf("merged:\n%s", got)
	}
}

// TestInstallRefusesUnparseable: a file that does not parse is named with
// the position of the problem and left exactly as it was.
func TestInstallRefusesUnparseable(t *testing.T) {
	dir := t.TempDir()
	cases := map[Client]struct{ content, where string }{
		Claude: {"{\n  \"mcpServers\": {\n    \"x\": 1,\n  }\n}\n", ":4:3: not valid JSON"},
		Codex:  {"model = \"o3\"\n[mcp_servers.x\ncommand = \"x\"\n", ":2:15: not valid TOML"},
	}
	for c, tc := range cases {
		path := filepath.Join(dir, string(c)+".conf")
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Install(c, path, stdioServer(t))
		if err == nil || !strings.Contains(err.Error(), path+tc.where) || !strings.Contains(err.Error(), "not writing it") {
			t.Errorf("%s: error %v, want %s%s...", c, err, path, tc.where)
		}
		var pe *PosError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error is not a PosError", c)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.content {
			t.Errorf("%s: the refused file changed", c)
		}
	}
}

// TestMergeNoTrailingNewline: a config.toml whose last line has no newline
// gets one before the new table, and the last key is not glued to it.
func TestMergeNoTrailingNewline(t *testing.T) {
	out, err := Merge(Codex, []byte(`model = "o3"`), stdioServer(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "model = \"o3\"\n\n[mcp_servers.bot-bottle]\n") {
		t.Errorf("got\n%s", out)
	}
}

// TestHTTPServerURL: --http accepts host:port and completes the path; it
// refuses a URL that carries credentials (they would land in the file).
func TestHTTPServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8787":             "http://127.0.0.1:8787/mcp",
		":8787":                      "http://127.0.0.1:8787/mcp",
		"http://localhost:8787/":     "http://localhost:8787/mcp",
		"https://bb.example/sub/mcp": "https://bb.example/sub/mcp",
	} {
		s, err := HTTP(in)
		if err != nil || s.URL != want || s.TokenEnv != TokenEnv {
			t.Errorf("HTTP(%q) = %+v, %v; want %s", in, s, err, want)
		}
	}
	for _, bad := range []string{"http://user:secret@127.0.0.1:8787/mcp", "ftp://x/", "http:///mcp", "http://x/mcp?token=1"} {
		s, err := HTTP(bad)
		if err == nil {
			t.Errorf("HTTP(%q) accepted: %+v", bad, s)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("HTTP(%q): the error repeats the credential: %v", bad, err)
		}
	}
	if _, err := Stdio("bot-bottle", ""); err == nil {
		t.Errorf("a relative server command was accepted")
	}
}

// TestNoTokenInConfig: over HTTP, what is printed and written references
// the token's variable and never holds a value.
func TestNoTokenInConfig(t *testing.T) {
	s, err := HTTP("127.0.0.1:8787")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Clients {
		out := string(Render(c, s))
		if !strings.Contains(out, TokenEnv) {
			t.Errorf("%s: the config does not name %s:\n%s", c, TokenEnv, out)
		}
	}
	if cmd := ClaudeCommand(s); !strings.Contains(cmd, `'Authorization: Bearer ${BOT_BOTTLE_TOKEN}'`) {
		t.Errorf("the claude command must single-quote the reference so the shell keeps it: %s", cmd)
	}
}
