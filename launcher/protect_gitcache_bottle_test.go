package launcher_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProtectedWorkdirGlobalHooksPathAfterCachedLaunch: in a workdir with
// no repository, where a launch reuses the host's git config answer of the
// one before, a relative core.hooksPath added to the operator's global
// config between two launches makes the next bottle's hooks folder
// read-only. The host's git is a wrapper that counts its runs, to show
// that the launch before the change did reuse the answer.
func TestProtectedWorkdirGlobalHooksPathAfterCachedLaunch(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git on this host")
	}
	count := filepath.Join(w.base, "git-runs")
	wrapper := filepath.Join(w.base, "bin", "git")
	os.MkdirAll(filepath.Dir(wrapper), 0o755)
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho run >> '"+count+"'\nexec '"+realGit+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.hostEnv["PATH"] = filepath.Dir(wrapper) + ":" + w.hostEnv["PATH"]
	global := filepath.Join(w.hostEnv["HOME"], ".gitconfig")
	if err := os.WriteFile(global, []byte("[user]\n\tname = op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := func() int { data, _ := os.ReadFile(count); return strings.Count(string(data), "\n") }
	time.Sleep(2200 * time.Millisecond) // younger files are never cached (racy timestamps)

	out, _ := w.run(`cd ` + w.workdir + ` && mkdir .githooks && rmdir .githooks && echo WRITABLE`)
	if !strings.Contains(out, "WRITABLE") {
		t.Fatalf("without a hooksPath .githooks is an ordinary folder, yet:\n%s", out)
	}
	n := runs()
	w.run(`true`)
	if runs() != n {
		t.Fatalf("the second launch with nothing changed ran git %d times", runs()-n)
	}

	if err := os.WriteFile(global, []byte("[user]\n\tname = op\n[core]\n\thooksPath = .githooks\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = w.run(`cd ` + w.workdir + ` && { mkdir -p .githooks && printf '#!/bin/sh\ntouch planted\n' > .githooks/pre-commit && echo PLANTED; } 2>&1; true`)
	t.Logf("bottle output:\n%s", out)
	if strings.Contains(out, "PLANTED") {
		t.Errorf("the bottle wrote a hook into the folder the new global hooksPath names")
	}
	if _, err := os.Lstat(filepath.Join(w.workdir, ".githooks", "pre-commit")); err == nil {
		t.Errorf("a planted hook is on the host")
	}
}
