package netns

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
)

// A probe that succeeded is remembered with the facts it proved, and a
// later backend whose facts are exactly those skips the probe; any other
// facts (another boot, user, binary or knob) and it probes again. A
// failed probe is never remembered.
func TestProbeCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), ProbeCacheFile)

	// /bin/false fails every probe: with no proof on file, Check says
	// what is wrong and writes nothing.
	if err := New("/bin/false").WithProbeCache(cache).Check(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot create the bottle's namespaces") {
		t.Fatalf("Check of a failing init, nothing remembered: %v", err)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Fatalf("a failed probe was remembered: %v", err)
	}

	// Facts that are not /bin/false's now (another boot): it probes.
	facts, err := probeFacts("/bin/false")
	if err != nil {
		t.Fatal(err)
	}
	stale := strings.Replace(facts, "boot ", "boot 0", 1)
	if err := os.WriteFile(cache, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := New("/bin/false").WithProbeCache(cache).Check(context.Background()); err == nil {
		t.Fatal("a proof for another boot was trusted")
	}

	// /bin/false's own facts on file: the probe is skipped (it would
	// fail), which is how a remembered proof saves a launch its probe.
	if err := os.WriteFile(cache, []byte(facts), 0o600); err != nil {
		t.Fatal(err)
	}
	b := New("/bin/false").WithProbeCache(cache)
	if err := b.Check(context.Background()); err != nil {
		t.Fatalf("Check with its facts remembered still probed: %v", err)
	}
	if !b.probeSkipped {
		t.Fatal("the backend does not know it skipped the probe, so a failed start would not probe again")
	}

	// A real init that passes its probe is remembered, with its facts.
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	if err := New(bin).WithProbeCache(cache).Check(context.Background()); err != nil {
		t.Skipf("local backend unavailable: %v", err)
	}
	got, err := os.ReadFile(cache)
	want, ferr := probeFacts(bin)
	if err != nil || ferr != nil || string(got) != want {
		t.Fatalf("remembered %q (%v), want the facts of %s %q (%v)", got, err, bin, want, ferr)
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache mode: %v %v", fi, err)
	}
}
