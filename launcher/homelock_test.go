package launcher

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHomeLockOneHolder: a kept home is one bottle's at a time; the second
// learns who holds it, and takes it once the first releases it.
func TestHomeLockOneHolder(t *testing.T) {
	home := filepath.Join(t.TempDir(), AgentHomesDir, "demo-0123456789ab")
	first, holder, err := lockAgentHome(home, "demo-aaaaaa")
	if err != nil || first == nil || holder != "" {
		t.Fatalf("first lock: %v, %v, %q", first, err, holder)
	}
	if p := HomeLockPath(home); filepath.Dir(p) != filepath.Dir(home) || strings.HasPrefix(p, home+"/") {
		t.Errorf("lock file %s is not beside the home %s", p, home)
	}
	second, holder, err := lockAgentHome(home, "demo-bbbbbb")
	if err != nil || second != nil || holder != "demo-aaaaaa" {
		t.Fatalf("second lock while held: %v, %v, holder %q, want none and demo-aaaaaa", second, err, holder)
	}
	first.release()
	first.release() // twice is harmless
	third, _, err := lockAgentHome(home, "demo-cccccc")
	if err != nil || third == nil {
		t.Fatalf("lock after release: %v, %v", third, err)
	}
	third.release()
	if got := safeID("demo-x\n\x1b[2J"); got != "" {
		t.Errorf("safeID kept control characters: %q", got)
	}
}
