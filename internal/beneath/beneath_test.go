//go:build linux

package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree writes files (path -> content) under a fresh folder.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func open(t *testing.T, p string) *Dir {
	t.Helper()
	d, err := Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestWalkReadsPlainTree(t *testing.T) {
	root := tree(t, map[string]string{"SKILL.md": "x", "ref/a.md": "aa", "scripts/run.sh": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(root, "scripts/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := open(t, root).Walk(Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+"="+string(f.Data))
		if (f.Path == "scripts/run.sh") != f.Exec {
			t.Errorf("%s: exec %v", f.Path, f.Exec)
		}
	}
	if want := "SKILL.md=x ref/a.md=aa scripts/run.sh=#!/bin/sh\n"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// A symlink anywhere in the tree is refused, whether it points outside
// (a host secret) or inside.
func TestWalkRefusesSymlinks(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(secret, []byte("HOST-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, link := range map[string]struct{ at, to string }{
		"file outside":   {"key", secret},
		"folder outside": {"ref", filepath.Dir(secret)},
		"file inside":    {"again.md", "SKILL.md"},
		"dot-dot":        {"up", ".."},
	} {
		t.Run(name, func(t *testing.T) {
			root := tree(t, map[string]string{"SKILL.md": "x"})
			if err := os.Symlink(link.to, filepath.Join(root, link.at)); err != nil {
				t.Fatal(err)
			}
			files, err := open(t, root).Walk(Limits{})
			if !errors.Is(err, ErrSymlink) {
				t.Fatalf("walk: %v, want ErrSymlink", err)
			}
			if !strings.HasPrefix(err.Error(), link.at+": ") {
				t.Errorf("error does not name the link first: %v", err)
			}
			for _, f := range files {
				if strings.Contains(string(f.Data), "HOST-SECRET") {
					t.Fatal("read the host secret through a symlink")
				}
			}
		})
	}
}

func TestReadFileRefusesEscapes(t *testing.T) {
	outside := tree(t, map[string]string{"secret": "HOST-SECRET"})
	root := tree(t, map[string]string{"agents/a.md": "ok"})
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "agents", "b.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	d := open(t, root)
	if b, err := d.ReadFile("agents/a.md", Limits{}); err != nil || string(b) != "ok" {
		t.Fatalf("plain file: %q %v", b, err)
	}
	for rel, want := range map[string]error{
		"agents/b.md":       ErrSymlink,
		"linked/secret":     ErrSymlink,
		"../" + "x":         ErrEscapes,
		outside + "/secret": ErrEscapes,
		"agents/none.md":    fs.ErrNotExist,
	} {
		if _, err := d.ReadFile(rel, Limits{}); !errors.Is(err, want) {
			t.Errorf("ReadFile(%s): %v, want %v", rel, err, want)
		}
	}
	if _, err := d.OpenDir("linked"); !errors.Is(err, ErrSymlink) {
		t.Errorf("OpenDir through a symlink: %v", err)
	}
}

func TestOpenRefusesSymlinkedRootUnlessFollowed(t *testing.T) {
	real := tree(t, map[string]string{"SKILL.md": "x"})
	link := filepath.Join(t.TempDir(), "skill")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link, false); !errors.Is(err, ErrSymlink) {
		t.Fatalf("Open(symlink, false): %v", err)
	}
	d, err := Open(link, true)
	if err != nil {
		t.Fatalf("Open(symlink, true): %v", err)
	}
	d.Close()
}

// A fifo is refused at once: opening it must not wait for a writer.
func TestWalkRefusesFifoWithoutBlocking(t *testing.T) {
	root := tree(t, map[string]string{"SKILL.md": "x"})
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := open(t, root).Walk(Limits{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("walk: %v, want ErrNotRegular", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("walk blocked on a fifo")
	}
}

func TestWalkRefusesHardLinksWhenAsked(t *testing.T) {
	outside := tree(t, map[string]string{"secret": "HOST-SECRET"})
	root := tree(t, map[string]string{"SKILL.md": "x"})
	if err := os.Link(filepath.Join(outside, "secret"), filepath.Join(root, "key")); err != nil {
		t.Skipf("cannot hard-link here: %v", err)
	}
	if _, err := open(t, root).Walk(Limits{RefuseHardLinks: true}); !errors.Is(err, ErrHardLink) {
		t.Fatalf("walk: %v, want ErrHardLink", err)
	}
	if _, err := open(t, root).ReadFile("key", Limits{RefuseHardLinks: true}); !errors.Is(err, ErrHardLink) {
		t.Fatalf("read: %v, want ErrHardLink", err)
	}
}

func TestWalkBounds(t *testing.T) {
	big := strings.Repeat("x", 100)
	cases := map[string]struct {
		files map[string]string
		lim   Limits
		want  string
	}{
		"file":    {map[string]string{"a": big}, Limits{MaxFileBytes: 99}, "a: is too large: 100 bytes, more than 99"},
		"total":   {map[string]string{"a": big, "b": big}, Limits{MaxTotalBytes: 150}, "b: is too large: the files together are more than 150 bytes"},
		"entries": {map[string]string{"a": "", "b": "", "c": ""}, Limits{MaxEntries: 2}, ".: is too large: more than 2 files and folders"},
		"depth":   {map[string]string{"a/b/c/d": ""}, Limits{MaxDepth: 2}, "a/b/c: is too large: folders nested deeper than 2"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := open(t, tree(t, c.files)).Walk(c.lim)
			if err == nil || err.Error() != c.want {
				t.Fatalf("walk: %v, want %q", err, c.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"SKILL.md", "ref", "ünïcode.md", "a b.txt"} {
		if !CheckName(ok) {
			t.Errorf("CheckName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a\\b", "line\nbreak", "tab\t", "esc\x1b[2J", "rtl\u202eexe.md", "zw\u200bsp", "bad\xff", strings.Repeat("a", 256)} {
		if CheckName(bad) {
			t.Errorf("CheckName(%q) = true", bad)
		}
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "rtl\u202etxt.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, root).Walk(Limits{}); !errors.Is(err, ErrBadName) {
		t.Fatalf("walk: %v, want ErrBadName", err)
	}
}
