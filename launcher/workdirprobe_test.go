package launcher

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbesShareTheFoldersAbove: two probes of sibling workdirs in one
// process both succeed (the old home-wide lock made them take turns; a
// lock per folder without sharing would make the second busy); a bottle
// on the parent still makes both busy, and the holds end with the last
// probe that shares them.
func TestProbesShareTheFoldersAbove(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ha, ok, busy := exclusiveWorkdir(a)
	if !ok || busy {
		t.Fatalf("probe of %s: ok %v busy %v", a, ok, busy)
	}
	heldFolders.Lock()
	root := heldFolders.m["/"]
	heldFolders.Unlock()
	if root != nil {
		t.Error("a probe locked /, which no bottle can hold: the probes of every home would wait for each other")
	}
	hb, ok, busy := exclusiveWorkdir(b)
	if !ok || busy {
		t.Fatalf("a probe of a sibling while the first holds the parent: ok %v busy %v", ok, busy)
	}
	// Nobody can take the parent for a bottle while either probe holds it.
	if l, err := tryFlock(base, unix.LOCK_SH); err == nil {
		l.release()
		t.Fatal("a bottle could take the parent while probes below hold it")
	}
	releaseAll(ha)
	if l, err := tryFlock(base, unix.LOCK_SH); err == nil {
		l.release()
		t.Fatal("the first probe's end let go of a hold the second still shares")
	}
	releaseAll(hb)
	bottle, err := lockWorkdir(context.Background(), base)
	if err != nil {
		t.Fatalf("the holds outlived both probes: %v", err)
	}
	defer bottle.release()
	if _, ok, busy := exclusiveWorkdir(a); ok || !busy {
		t.Errorf("a probe below a live bottle's workdir: ok %v busy %v, want busy", ok, busy)
	}
	heldFolders.Lock()
	n := len(heldFolders.m)
	heldFolders.Unlock()
	if n != 0 {
		t.Errorf("%d folder holds left after every probe ended", n)
	}
}
