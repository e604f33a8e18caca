package launcher

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
)

// protectWorkdir takes the bottle's hold on its workdir, decides what in it
// the bottle cannot write and creates the placeholders that needs. It runs
// before the backend starts anything; the hold goes in releaseWorkdir, the
// placeholders in removePlaceholders.
func (b *Bottle) protectWorkdir(ctx context.Context) (*bottleinit.Protect, error) {
	b.workdirSince = time.Now()
	lock, err := lockWorkdir(ctx, b.info.Workdir)
	if err != nil {
		return nil, err
	}
	b.workdirLock, b.heldWorkdir = lock, true
	var writable []string
	for _, w := range b.plan.Workdir.Writable {
		writable = append(writable, w.Path)
	}
	p, err := planProtection(ctx, b.info.Workdir, writable, b.l.cfg.HostEnv)
	if err != nil {
		return nil, err
	}
	defer p.close()
	if err := createPlaceholders(b.l.cfg.Home, p); err != nil {
		return nil, err
	}
	return p.spec(), nil
}

// releaseWorkdir drops the bottle's hold on its workdir and sweeps the
// workdir for what the bottle planted where no mount could hold it
// (sweep.go), before the end is recorded, which carries the notices. The
// placeholders, still recorded, are no change of the bottle's to the sweep;
// removePlaceholders removes them after the end is recorded. It runs once
// the bottle's processes are gone.
func (b *Bottle) releaseWorkdir() error {
	if b.workdirLock == nil {
		return nil
	}
	b.workdirLock.release()
	b.workdirLock = nil
	notices, err := sweepWorkdir(b.l.cfg.Home, b.info.Workdir, b.workdirSince, b.ID())
	for _, n := range notices {
		b.l.log.Warn("workdir", "bottle", b.ID(), "notice", n)
	}
	b.mu.Lock()
	b.notices = append(b.notices, notices...)
	b.info.WorkdirNotices = slices.Clone(b.notices)
	b.mu.Unlock()
	return err
}

// removePlaceholders removes the workdir's placeholders when this was the
// last bottle there (placeholder.go); those it cannot remove now stay
// recorded for a later teardown or cleanup.
func (b *Bottle) removePlaceholders() error {
	if b.info.Workdir == "" || !b.heldWorkdir {
		return nil
	}
	removed, err := removePlaceholders(b.l.cfg.Home, b.info.Workdir)
	if len(removed) > 0 {
		b.l.log.Debug("removed workdir placeholders", "bottle", b.ID(), "workdir", b.info.Workdir, "paths", removed)
	}
	if err != nil {
		return fmt.Errorf("workdir placeholders: %w", err)
	}
	return nil
}

// WorkdirNotices returns what the operator must know about the workdir
// once the bottle has ended: git repositories it planted and that were
// renamed aside, an operation it left in progress, tool settings it wrote
// below the workdir's root. Empty while the bottle runs.
func (b *Bottle) WorkdirNotices() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.notices)
}
