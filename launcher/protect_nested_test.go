package launcher_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
)

// nestedRepo makes rel, below the workdir, a git repository without a
// hooks folder, so that a bottle on the workdir holds its hooks with a
// placeholder.
func (w *protectWorld) nestedRepo(rel string) string {
	w.t.Helper()
	dir := filepath.Join(w.workdir, rel)
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		w.t.Fatalf("git init %s: %v\n%s", dir, err, out)
	}
	if err := os.RemoveAll(filepath.Join(dir, ".git", "hooks")); err != nil {
		w.t.Fatal(err)
	}
	return dir
}

// predate waits until what exists now is older than a launch by more than
// the end sweep's margin for the kernel's coarse ctime: the operator's
// repositories, not something a bottle planted.
func predate() { time.Sleep(1300 * time.Millisecond) }

// launchIn starts script in workdir dir and waits for it to say "up".
func (w *protectWorld) launchIn(dir, script string) (*launcher.Bottle, *lockedBuffer) {
	w.t.Helper()
	out := &lockedBuffer{}
	b, err := w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: dir,
		Command: []string{"sh", "-c", script}, Stdio: launcher.Stdio{Out: out, Err: out}})
	if err != nil {
		w.t.Fatal(err)
	}
	out.waitFor(w.t, "up")
	return b, out
}

// TestPlaceholderOfAnOuterBottleOutlivesItWhenAnInnerOneStandsOnIt: a
// bottle on a workdir creates a placeholder inside a nested repository
// (its hooks folder); a bottle launched later on that repository finds the
// folder there and mounts it read-only. When the outer bottle ends first,
// removing its placeholder would detach the inner bottle's mount, and the
// agent in it could write a hook the host's git then runs.
func TestPlaceholderOfAnOuterBottleOutlivesItWhenAnInnerOneStandsOnIt(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	sub := w.nestedRepo("sub")
	hooks := filepath.Join(sub, ".git", "hooks")
	predate()
	outer, _ := w.launchIn(w.workdir, waitScript)
	if _, err := os.Stat(hooks); err != nil {
		t.Fatalf("the outer bottle holds no placeholder at the nested repository's hooks: %v", err)
	}
	inner, out := w.launchIn(sub, `echo up; while [ ! -e .bb-go2 ]; do sleep 0.05; done
rmdir .git/hooks 2>/dev/null && echo REMOVED
mkdir -p .git/hooks 2>/dev/null; (echo 'touch /tmp/pwned' > .git/hooks/post-checkout) 2>/dev/null && echo WROTE
echo checked`)
	mkfileT(t, filepath.Join(w.workdir, ".bb-go"), "")
	outer.Wait(context.Background())
	if _, err := os.Stat(hooks); err != nil {
		t.Errorf("the outer bottle's teardown removed the placeholder the inner bottle stands on: %v", err)
	}
	mkfileT(t, filepath.Join(sub, ".bb-go2"), "")
	inner.Wait(context.Background())
	if s := out.String(); !strings.Contains(s, "checked") || strings.Contains(s, "WROTE") || strings.Contains(s, "REMOVED") {
		t.Errorf("the inner bottle's hooks folder stopped being read-only:\n%s", s)
	}
	if _, err := os.Lstat(filepath.Join(hooks, "post-checkout")); err == nil {
		t.Error("a hook written in the inner bottle is on the host")
	}
	// Nobody stands on it any more: cleanup removes what the outer bottle left.
	if _, err := w.l.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(hooks); err == nil {
		t.Error("cleanup left the outer bottle's placeholder once no bottle stood on it")
	}
	if rec := w.recordedPlaceholders(); len(rec) != 0 {
		t.Errorf("records left: %v", rec)
	}
}

// TestNestedWorkdirsTearDownTogether: bottles on a workdir, on
// repositories nested in it and on a sibling all stop at once; their
// teardowns run in parallel and share the folders above them. Every
// placeholder goes (a busy one at the latest with the cleanup), none
// while a bottle stands on it.
func TestNestedWorkdirsTearDownTogether(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	sub := w.nestedRepo("sub")
	deep := w.nestedRepo("sub/deep")
	other := filepath.Join(w.workdir, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	predate()
	var wg sync.WaitGroup
	var bs []*launcher.Bottle
	var mu sync.Mutex
	for _, dir := range []string{w.workdir, sub, deep, other, sub, w.workdir} {
		b, _ := w.launchIn(dir, "echo up; exec sleep 600")
		bs = append(bs, b)
	}
	for _, p := range []string{".envrc", "sub/.envrc", "sub/.git/hooks", "sub/deep/.git/hooks", "other/.envrc"} {
		if !w.exists(p) {
			t.Errorf("no placeholder at %s while the bottles run", p)
		}
	}
	var errs []error
	for _, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Stop(context.Background()); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := w.l.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".envrc", "sub/.envrc", "sub/.git/hooks", "sub/deep/.git/hooks", "other/.envrc", "sub/deep/.envrc"} {
		if w.exists(p) {
			t.Errorf("placeholder %s left after every bottle ended and cleanup ran", p)
		}
	}
	if rec := w.recordedPlaceholders(); len(rec) != 0 {
		t.Errorf("records left: %v", rec)
	}
}
