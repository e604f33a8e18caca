package launcher_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
)

// TestProtectedWorkdirGlobalHooksPathAfterCachedLaunch: in a workdir with
// no repository, where a launch reuses the host's git config answer of the
// one before, a relative core.hooksPath added to the operator's global
// config between two launches makes the next bottle's hooks folder
// read-only. The host's git is a wrapper that counts its runs, to show
// that the launch before the change did reuse the answer.
func TestProtectedWorkdirGlobalHooksPathAfterCachedLaunch(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	wrapper := filepath.Join(w.base, "bin", "git")
	launcher.InstallGitWrapperForTest(t, wrapper, "")
	w.hostEnv["PATH"] = filepath.Dir(wrapper) + ":" + w.hostEnv["PATH"]
	global := filepath.Join(w.hostEnv["HOME"], ".gitconfig")
	if err := os.WriteFile(global, []byte("[user]\n\tname = op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := func() int { return launcher.GitWrapperRunsForTest(t, wrapper) }
	time.Sleep(launcher.GitConfigRacyWindow + 200*time.Millisecond) // younger files are never cached (racy timestamps)

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
