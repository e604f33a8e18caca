//go:build linux

package bottleinit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestWriteFilesNeverThroughSymlinks is an earlier agent's attack on the
// kept home: it left ~/.claude/skills as a link to a folder it wants
// emptied and written (a protected .git/hooks, a host folder), and
// ~/.claude/CLAUDE.md as a link to a file it wants overwritten. The
// launch must replace the links, not follow them.
func TestWriteFilesNeverThroughSymlinks(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	victim := filepath.Join(root, "victim")
	for _, d := range []string{filepath.Join(home, ".claude"), victim, filepath.Join(home, ".agents")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(victim, "keep"), []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		".claude/skills":    victim,
		".claude/CLAUDE.md": filepath.Join(victim, "keep"),
		".agents/skills":    victim, // a folder on the way of a file, not a cleaned one
	} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			t.Fatal(err)
		}
	}
	files := []schemas.AgentFile{
		{Path: ".claude/CLAUDE.md", Mode: 0o644, Content: "instructions"},
		{Path: ".claude/skills/s/SKILL.md", Mode: 0o644, Data: []byte("---\ndescription: d\n---\n")},
		{Path: ".claude/skills/s/run.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
		{Path: ".agents/skills/x/SKILL.md", Mode: 0o644, Data: []byte("x")},
	}
	if err := writeFiles(home, []string{".claude/skills"}, files); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(victim, "keep")); err != nil || string(b) != "victim" {
		t.Fatalf("the link's target was written or removed: %q, %v", b, err)
	}
	if names, _ := os.ReadDir(victim); len(names) != 1 {
		t.Fatalf("the link's target folder gained files: %v", names)
	}
	for _, f := range files {
		p := filepath.Join(home, f.Path)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("%s: not a regular file: %v", f.Path, err)
		}
		if fi.Mode().Perm() != os.FileMode(f.Mode) {
			t.Errorf("%s: mode %v, want %04o", f.Path, fi.Mode().Perm(), f.Mode)
		}
		want := f.Content
		if f.Data != nil {
			want = string(f.Data)
		}
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s: %q, want %q", f.Path, b, want)
		}
	}
}

// TestWriteFilesCleansSkills: a skill an earlier launch installed is gone
// when the next launch's agent does not have it.
func TestWriteFilesCleansSkills(t *testing.T) {
	home := t.TempDir()
	old := filepath.Join(home, ".claude/skills/old/SKILL.md")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(home, []string{".claude/skills"}, []schemas.AgentFile{{Path: ".claude/skills/new/SKILL.md", Data: []byte("new")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(old); !os.IsNotExist(err) {
		t.Fatalf("the old skill is still there: %v", err)
	}
	if err := writeFiles(home, []string{"../x"}, nil); err == nil {
		t.Fatal("a folder outside the home was accepted")
	}
}
