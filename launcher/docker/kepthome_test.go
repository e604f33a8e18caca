package docker_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
)

// TestKeptHomeContainer: a docker bottle's kept home keeps what the agent
// writes, and the container's mountinfo neither names where it lives on
// the host (the bot-bottle home, the kept homes' folder) nor lets it hold a
// setuid program or a device (nosuid, nodev).
func TestKeptHomeContainer(t *testing.T) { forRuntimes(t, testKeptHomeContainer) }

func testKeptHomeContainer(t *testing.T, f *fixture) {
	if os.Getuid() != 0 {
		t.Skip("only a root owner can mount the kept home (see package doc)")
	}
	home := launcher.AgentHomePath(f.bbHome, "dtest", f.workdir)
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "before"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `echo "== before"; cat "$HOME/before"
echo "== write"; echo after > "$HOME/after" && echo ok
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== end"`
	var out bytes.Buffer
	p := f.startWith(&out, func(s *launcher.Spec) { s.AgentHome = home }, "sh", "-c", script)
	code, err := p.Wait()
	t.Logf("exit %d err %v\n%s", code, err, out.String())
	s := sections(out.String())
	if strings.TrimSpace(s["before"]) != "kept" || !strings.Contains(s["write"], "ok") {
		t.Fatalf("the kept home is not the bottle's home: %q %q", s["before"], s["write"])
	}
	if b, err := os.ReadFile(filepath.Join(home, "after")); err != nil || string(b) != "after\n" {
		t.Errorf("the kept home did not keep the bottle's file: %q %v", b, err)
	}
	var homeLine string
	for _, l := range strings.Split(s["mountinfo"], "\n") {
		if fs := strings.Fields(l); len(fs) > 5 && fs[4] == "/root" {
			homeLine = l
		}
	}
	if homeLine == "" {
		t.Fatalf("no mount at the agent's home in the container's mountinfo")
	}
	for what, p := range map[string]string{"the bot-bottle home": f.bbHome, "the kept homes' folder": launcher.AgentHomesDir} {
		if strings.Contains(s["mountinfo"], p) {
			t.Errorf("the container's mountinfo shows %s (%s)", what, p)
		}
	}
	// gVisor builds its own table from the OCI spec and cannot say
	// nosuid for a bind; the host-side mount's flags are what count there.
	if f.runtime == "runc" {
		opts := strings.Fields(homeLine)[5]
		if !strings.Contains(opts, "nosuid") || !strings.Contains(opts, "nodev") {
			t.Errorf("the kept home is not mounted nosuid,nodev in the container: %q", homeLine)
		}
	}
	if ws := strings.Join(p.(launcher.LimitReporter).Warnings(), "\n"); bottleinit.KeptOverlayExpected() && strings.Contains(ws, bottleinit.KeptHomeBoundWarning) {
		t.Errorf("the kept home was bound on a kernel that can mount its overlay: %s", ws)
	}
}
