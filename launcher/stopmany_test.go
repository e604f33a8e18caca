package launcher_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// stopManyBottles is how many real local bottles TestStoppingManyBottles
// stops at once: more than the teardowns that run in parallel, so some
// queue.
const stopManyBottles = 30

// TestStoppingManyBottlesAtOnce: an owner of 30 local bottles, each on a
// workdir of its own with the placeholders its protection needs, is
// closed. Every bottle ends and is recorded as ended, and nothing is left
// behind: no placeholder, no placeholder record, no cgroup, no run folder.
func TestStoppingManyBottlesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("launches 30 bottles")
	}
	w := newProtectWorld(t, "local", "")
	l, err := launcher.New(w.cfg) // closed by the test, not by the world's cleanup
	if err != nil {
		t.Fatal(err)
	}
	var bs []*launcher.Bottle
	var workdirs []string
	var cgroups []string
	for i := range stopManyBottles {
		dir := filepath.Join(w.base, "fleet", fmt.Sprintf("w%02d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := launchIdle(t, l, dir)
		if err != nil {
			l.Close(context.Background())
			t.Fatalf("launch bottle %d: %v", i, err)
		}
		bs = append(bs, b)
		workdirs = append(workdirs, dir)
		cgroups = append(cgroups, recordedCgroups(b)...)
	}
	if len(placeholdersIn(workdirs)) == 0 {
		t.Fatal("the running bottles' workdirs hold no placeholder: the test would prove nothing")
	}
	start := time.Now()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bottles stopped in %v", len(bs), time.Since(start))
	for _, b := range bs {
		select {
		case <-b.Done():
		default:
			t.Errorf("bottle %s has not ended after Close", b.ID())
		}
		in, err := l.Lookup(context.Background(), b.ID())
		if err != nil {
			t.Fatal(err)
		}
		if !launcher.Terminal(in.State) {
			t.Errorf("bottle %s is recorded %s after Close", b.ID(), in.State)
		}
		if _, err := os.Stat(in.RunDir); err == nil {
			t.Errorf("run folder %s left", in.RunDir)
		}
	}
	if left := placeholdersIn(workdirs); len(left) > 0 {
		t.Errorf("placeholders left after every bottle ended: %v", left)
	}
	if rec := w.recordedPlaceholders(); len(rec) != 0 {
		t.Errorf("placeholder records left: %v", rec)
	}
	if len(cgroups) == 0 {
		t.Log("the bottles had no cgroups of their own here (no delegated cgroup tree)")
	}
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); err == nil {
			t.Errorf("cgroup %s left", cg)
		}
	}
}

// recordedCgroups reads the cgroup folders a local bottle's run folder
// records.
func recordedCgroups(b *launcher.Bottle) []string {
	data, err := os.ReadFile(filepath.Join(b.Info().RunDir, "cgroups"))
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

// placeholdersIn lists what the workdirs (created empty) hold.
func placeholdersIn(workdirs []string) []string {
	var out []string
	for _, d := range workdirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	return out
}

// endSpy passes events on to a publisher and, for the first terminal
// lifecycle event of each bottle, notes what of the bottle was still on
// the host when its end was published.
type endSpy struct {
	events.Publisher
	mu      sync.Mutex
	runDirs map[string]bool // bottle: its run folder still existed
}

func (s *endSpy) Publish(ev schemas.Event) {
	if ev.Kind == schemas.KindLifecycle {
		var lc schemas.Lifecycle
		if ev.Decode(&lc) == nil && launcher.Terminal(lc.State) && lc.RunDir != "" {
			_, err := os.Stat(lc.RunDir)
			s.mu.Lock()
			if _, seen := s.runDirs[ev.Bottle]; !seen {
				s.runDirs[ev.Bottle] = err == nil
			}
			s.mu.Unlock()
		}
	}
	s.Publisher.Publish(ev)
}

func (s *endSpy) Flush(ctx context.Context) error {
	if f, ok := s.Publisher.(interface{ Flush(context.Context) error }); ok {
		return f.Flush(ctx)
	}
	return nil
}

// TestTheEndIsRecordedBeforeTheHostCleanup: a bottle's end is on the
// channel while its run folder, which records what the host-side cleanup
// still has to remove, is there; when a folder above the workdir is held
// by someone else all along (a bottle on it), the teardown leaves the
// placeholders recorded, and the next cleanup removes them once it is free.
func TestTheEndIsRecordedBeforeTheHostCleanup(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	spy := &endSpy{Publisher: w.cfg.Publisher, runDirs: map[string]bool{}}
	cfg := w.cfg
	cfg.Publisher = spy
	l, err := launcher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	parent := filepath.Join(w.base, "outer")
	dir := filepath.Join(parent, "inner")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := launchIdle(t, l, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(placeholdersIn([]string{dir})) == 0 {
		t.Fatal("the workdir holds no placeholder: the test would prove nothing")
	}
	// What a bottle on the folder above holds: its teardown cannot know
	// whether that bottle stands on the placeholders.
	hold, err := launcher.HoldWorkdirForTest(parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(context.Background()); err != nil {
		hold()
		t.Fatal(err)
	}
	spy.mu.Lock()
	before, seen := spy.runDirs[b.ID()]
	spy.mu.Unlock()
	if !seen {
		t.Error("no end of the bottle was published")
	} else if !before {
		t.Error("the end was published after the run folder was removed: the host-side cleanup held the record up")
	}
	if left := placeholdersIn([]string{dir}); len(left) == 0 {
		t.Error("the teardown removed the placeholders while a bottle on the folder above might stand on them")
	}
	if len(w.recordedPlaceholders()) == 0 {
		t.Error("placeholders left in the workdir are not recorded: no cleanup would remove them")
	}
	hold()
	if _, err := l.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := placeholdersIn([]string{dir}); len(left) > 0 {
		t.Errorf("cleanup left placeholders once the folder above was free: %v", left)
	}
	if rec := w.recordedPlaceholders(); len(rec) != 0 {
		t.Errorf("records left: %v", rec)
	}
}

// TestCloseThatGivesUpNamesWhatItLeaves: a Close whose wait ends before
// its bottles have finished stopping returns, and says in its error and
// its log which bottles it left; they still end.
func TestCloseThatGivesUpNamesWhatItLeaves(t *testing.T) {
	w := newProtectWorld(t, "local", "")
	logs := &lockedBuffer{}
	cfg := w.cfg
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	l, err := launcher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var bs []*launcher.Bottle
	for i := range 2 {
		dir := filepath.Join(w.base, fmt.Sprintf("w%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := launchIdle(t, l, dir)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = l.Close(ctx)
	if err == nil {
		t.Fatal("Close with an ended context waited for every bottle")
	}
	for _, b := range bs {
		if !strings.Contains(err.Error(), b.ID()) {
			t.Errorf("Close's error does not name bottle %s it left: %v", b.ID(), err)
		}
		if !strings.Contains(logs.String(), b.ID()) {
			t.Errorf("Close's log does not name bottle %s it left:\n%s", b.ID(), logs.String())
		}
	}
	for _, b := range bs {
		wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := b.Wait(wctx)
		wcancel()
		if err != nil {
			t.Errorf("bottle %s did not end after the stop Close asked for: %v", b.ID(), err)
		}
	}
}

// launchIdle launches the demo bottle on dir with a command that idles,
// and returns once the command runs.
func launchIdle(t *testing.T, l *launcher.Launcher, dir string) (*launcher.Bottle, error) {
	t.Helper()
	out := &lockedBuffer{}
	b, err := l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: dir,
		Command: []string{"sh", "-c", "echo up; exec sleep 600"}, Stdio: launcher.Stdio{Out: out, Err: out}})
	if err != nil {
		return nil, err
	}
	out.waitFor(t, "up")
	return b, nil
}
