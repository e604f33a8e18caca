package launcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// stagingGrace is how old an unfinished run folder (a launch between mkdir
// and rename) must be before cleanup takes it for a crash's leftover.
const stagingGrace = time.Minute

// CleanupReport lists what Cleanup removed.
type CleanupReport struct {
	Removed []string `json:"removed"` // one line per object: what and for which bottle
}

// Cleanup removes what bottles of this home left behind when their owner
// died without tearing them down: run folders (and their sockets),
// containers and networks of every backend that can be reached, and it
// records each such bottle as failed so that ps stops listing it. Bottles
// whose owner is alive are never touched.
func (l *Launcher) Cleanup(ctx context.Context) (CleanupReport, error) {
	return l.cleanup(ctx, l.cfg.Backends)
}

// sweepEvery is how often, at most, the launches of one process sweep
// for crashed owners' leftovers.
const sweepEvery = time.Minute

// reaper runs the launches' sweeps one at a time, in the background.
type reaper struct {
	mu      sync.Mutex
	running bool
	last    time.Time // when the last sweep began
	wg      sync.WaitGroup
}

// reapOrphans is the cleanup a launch does, for the backend it uses: in
// the background, so that a launch does not pay for a scan of every
// bottle of the home (which grows with how many run), and at most once a
// sweepEvery per process, so that a process launching many bottles does
// not scan once per launch. A crashed owner's leftovers wait at most that
// long (bot-bottle cleanup and stop remove them at once); ps already
// lists its bottles as orphaned. A failure is only logged.
func (l *Launcher) reapOrphans(be Backend) {
	l.reap.mu.Lock()
	defer l.reap.mu.Unlock()
	if l.reap.running || (!l.reap.last.IsZero() && time.Since(l.reap.last) < sweepEvery) {
		return
	}
	l.reap.running, l.reap.last = true, time.Now()
	l.reap.wg.Add(1)
	go func() {
		defer l.reap.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
		defer cancel()
		rep, err := l.cleanup(ctx, []Backend{be})
		if err != nil {
			l.log.Warn("cleanup before launch", "err", err)
		}
		for _, r := range rep.Removed {
			l.log.Info("removed a leftover of a crashed owner", "what", r)
		}
		l.reap.mu.Lock()
		l.reap.running = false
		l.reap.mu.Unlock()
	}()
}

// sweepTimeout bounds a launch's background sweep.
const sweepTimeout = 2 * time.Minute

// WaitSweep waits for a launch's background sweep to finish: a process
// calls it before it closes its store.
func (l *Launcher) WaitSweep() { l.reap.wg.Wait() }

func (l *Launcher) cleanup(ctx context.Context, backends []Backend) (CleanupReport, error) {
	var rep CleanupReport
	var errs []error
	orphans := map[string]bool{}
	alive := func(o Owner) bool { return o.Alive() }
	for _, be := range backends {
		left, err := be.Leftovers(ctx, l.cfg.Home, alive)
		if err != nil {
			// A backend that cannot be reached (no daemon) has nothing
			// running that could be ours; say so only in the log.
			l.log.Debug("cleanup: backend unreachable", "backend", be.Name(), "err", err)
			continue
		}
		for _, lo := range left {
			if err := be.RemoveLeftover(ctx, lo); err != nil {
				errs = append(errs, err)
				continue
			}
			orphans[lo.BottleID] = true
			id := lo.ID
			if lo.Kind == "container" || lo.Kind == "network" {
				id = fmt.Sprintf("%.12s", id) // Docker's short ids
			}
			rep.Removed = append(rep.Removed, fmt.Sprintf("%s %s %s (bottle %s)", lo.Backend, lo.Kind, id, lo.BottleID))
		}
	}
	// Run folders go after the backends' leftovers: a backend may find
	// its own (the local backend's cgroups) through a folder's record.
	var sweeps []RunRecord // dead owners' bottles whose workdirs are swept last
	if err := l.cleanRunDirs(&rep, orphans, &sweeps); err != nil {
		errs = append(errs, err)
	}
	// After the backends' leftovers: a dead owner's container must be gone
	// before the placeholders its mounts stand on are removed.
	for _, w := range leftoverPlaceholders(l.cfg.Home) {
		removed, err := removePlaceholders(l.cfg.Home, w)
		if err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
		}
		for _, r := range removed {
			rep.Removed = append(rep.Removed, "placeholder "+clean(filepath.Join(w, r)))
		}
	}
	for _, rec := range sweeps {
		notices, err := sweepWorkdir(l.cfg.Home, rec.Workdir, rec.Started, rec.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
		}
		for _, n := range notices {
			rep.Removed = append(rep.Removed, fmt.Sprintf("workdir of bottle %s: %s", rec.ID, n))
		}
	}
	if l.cfg.Registry != nil {
		live, err := l.List(ctx, false)
		if err != nil {
			errs = append(errs, err)
		}
		for _, in := range live {
			if in.Orphaned {
				orphans[in.ID] = true
				l.recordOrphan(in)
			}
		}
		l.flush(ctx)
	}
	return rep, errors.Join(errs...)
}

// cleanRunDirs removes the run folders whose owner is dead, and adds to
// sweeps the records of those that name a workdir.
func (l *Launcher) cleanRunDirs(rep *CleanupReport, orphans map[string]bool, sweeps *[]RunRecord) error {
	root := RunRoot(l.cfg.Home)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > stagingGrace {
				if err := os.RemoveAll(path); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if CheckID(e.Name()) != "" {
			continue // not ours
		}
		rec, err := readRecord(RunDir{Root: path})
		if err == nil && rec.Owner.Alive() {
			continue
		}
		if err == nil && rec.Workdir != "" && !rec.Started.IsZero() {
			*sweeps = append(*sweeps, rec)
		}
		if err := keepLog(l.cfg.Home, e.Name(), RunDir{Root: path}); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err)) // the folder still goes: leftovers must not pile up
		}
		if err := (RunDir{Root: path}).remove(); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
			continue
		}
		orphans[e.Name()] = true
		rep.Removed = append(rep.Removed, "run folder "+path)
	}
	return errors.Join(errs...)
}

// recordOrphan marks a bottle whose owner died as failed.
func (l *Launcher) recordOrphan(in Info) {
	in.State = schemas.StateFailed
	in.Error = fmt.Sprintf("its owner (pid %d) died without stopping it; cleaned up by pid %d", in.Owner.PID, os.Getpid())
	in.ExitCode = nil
	ev, err := schemas.NewEvent(in.ID, schemas.KindLifecycle, in.lifecycle())
	if err != nil {
		return
	}
	l.cfg.Publisher.Publish(ev)
}

// cleanupOrphan removes what one dead owner left of bottle in, and records
// it as failed.
func (l *Launcher) cleanupOrphan(ctx context.Context, in Info) error {
	if _, err := l.cleanup(ctx, l.cfg.Backends); err != nil {
		return fmt.Errorf("stop %s: its owner (pid %d) is dead; cleanup: %w", in.ID, in.Owner.PID, err)
	}
	return nil
}
