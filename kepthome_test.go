package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher"
)

// TestParallelLaunchesKeepOneHome: the same bottle launched twice at once
// in one workdir does not share its kept home (overlayfs refuses an upper
// layer in use, and a bind would show the home's host path). The first
// keeps it; the second runs in a home of its own that is not kept, says so,
// and leaves nothing behind; neither bottle's mountinfo names where the
// homes are on the host.
func TestParallelLaunchesKeepOneHome(t *testing.T) {
	e := newE2E(t, "local")
	first := e.start("sh", "-c", `echo first > "$HOME/mark"; cat /proc/self/mountinfo > mountinfo-first; echo ready; `+
		`while [ ! -e stop ]; do sleep 0.1; done`)
	code, stdout, stderr := e.run("sh", "-c", `cat /proc/self/mountinfo; echo "== home"; ls -A "$HOME"; echo second > "$HOME/mark" && echo written`)
	if code != 0 {
		t.Fatalf("second launch: exit %d\n%s", code, stderr)
	}
	must(t, os.WriteFile(filepath.Join(e.workdir, "stop"), nil, 0o644))
	if c := first.wait(t); c != 0 {
		t.Fatalf("first launch: exit %d\n%s", c, first.stderr.String())
	}
	if strings.Contains(stderr, "the agent's home is kept in") || !strings.Contains(stderr, "the agent's home is not kept") {
		t.Errorf("the second launch does not say its home is not kept:\n%s", stderr)
	}
	if s := first.stderr.String(); !strings.Contains(s, "the agent's home is kept in") || strings.Contains(s, "not kept") {
		t.Errorf("the first launch does not say its home is kept:\n%s", s)
	}
	mi, home, _ := strings.Cut(stdout, "== home")
	t.Logf("second mountinfo:\n%s", mi)
	if strings.Contains(home, "mark") || !strings.Contains(home, "written") {
		t.Errorf("the second bottle's home is not a fresh home of its own: %q", home)
	}
	miFirst, err := os.ReadFile(filepath.Join(e.workdir, "mountinfo-first"))
	must(t, err)
	for who, m := range map[string]string{"first": string(miFirst), "second": mi} {
		for what, p := range map[string]string{"the bot-bottle home": e.home, "the kept homes' folder": launcher.AgentHomesDir} {
			if strings.Contains(m, p) {
				t.Errorf("the %s bottle's mountinfo shows %s (%s)", who, what, p)
			}
		}
	}
	kept := launcher.AgentHomePath(e.home, "demo", e.workdir)
	if b, err := os.ReadFile(filepath.Join(kept, "mark")); err != nil || string(b) != "first\n" {
		t.Errorf("the kept home holds %q (%v), want the first bottle's mark alone", b, err)
	}
	entries, err := os.ReadDir(filepath.Dir(kept))
	must(t, err)
	for _, en := range entries {
		if n := en.Name(); n != filepath.Base(kept) && !strings.HasPrefix(n, "."+filepath.Base(kept)+".") {
			t.Errorf("agent-homes holds %s beside the one kept home", n)
		}
	}
	if entries, err := os.ReadDir(launcher.RunRoot(e.home)); err == nil && len(entries) > 0 {
		t.Errorf("run folders left: %d", len(entries))
	}
}
