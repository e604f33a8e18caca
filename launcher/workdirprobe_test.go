package launcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// TestProbesOfManyTeardownsAtOnce: many probes of sibling workdirs take
// and let go of their holds at once (a fleet's teardowns). While any
// holds the parent, no bottle can take it; once all are done, no hold is
// left and a bottle can take every folder again.
func TestProbesOfManyTeardownsAtOnce(t *testing.T) {
	base := t.TempDir()
	var dirs []string
	for i := range 8 {
		d := filepath.Join(base, fmt.Sprintf("w%d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				d := dirs[(g+i)%len(dirs)]
				held, ok, busy := exclusiveWorkdir(d)
				if !ok || busy {
					errs <- fmt.Sprintf("probe of %s: ok %v busy %v with no bottle anywhere (the probes share their holds)", d, ok, busy)
					continue
				}
				if l, err := tryFlock(base, unix.LOCK_SH); err == nil {
					l.release()
					errs <- "a bottle could take the parent while a probe below held it"
				}
				releaseAll(held)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
		break
	}
	heldFolders.Lock()
	n := len(heldFolders.m)
	heldFolders.Unlock()
	if n != 0 {
		t.Errorf("%d folder holds left after every probe ended", n)
	}
	for _, d := range append(dirs, base) {
		l, err := tryFlock(d, unix.LOCK_EX)
		if err != nil {
			t.Fatalf("%s still locked after every probe ended: %v", d, err)
		}
		l.release()
	}
}
