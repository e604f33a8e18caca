package launcher

import (
	"context"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// limitPoll is how often the owner reads a running bottle's limit
// counters: a few small cgroup files, so often enough that an OOM kill on
// a backend that kills one process ends the rest of the bottle quickly.
const limitPoll = 250 * time.Millisecond

// limitPollShare bounds the reads of an owner of many bottles: each bottle
// is read every limitPoll, or every limitPollShare times the bottles the
// process owns when that is longer (4 s for a thousand). Polling every
// bottle four times a second took most of a core at a thousand bottles.
const limitPollShare = 4 * time.Millisecond

// limitPollEvery is the poll interval of each bottle of an owner of n.
func limitPollEvery(n int) time.Duration {
	return max(limitPoll, time.Duration(n)*limitPollShare)
}

// limitWatch follows a bottle's limit counters while it runs.
type limitWatch struct {
	mu   sync.Mutex
	hits schemas.LimitHits // the highest counts seen
	seen bool              // the backend reported counters at least once

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// watchLimits starts polling the process's limit counters (when its
// backend has them) and returns the function that stops polling, reads
// the counters a last time and records in the bottle's info which limit
// it met. Call that after Wait and before Release.
func (b *Bottle) watchLimits() (finish func()) {
	lr, ok := b.proc.(LimitReporter)
	if !ok {
		return func() {}
	}
	w := &b.limits
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTimer(limitPollEvery(b.l.ownedCount()))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if h, ok := lr.LimitHits(); ok {
					b.noteHits(h)
				}
				t.Reset(limitPollEvery(b.l.ownedCount()))
			}
		}
	}()
	return func() {
		cancel()
		w.wg.Wait()
		if h, ok := lr.LimitHits(); ok {
			b.noteHits(h)
		}
		w.mu.Lock()
		hits, seen := w.hits, w.seen
		w.mu.Unlock()
		if !seen || hits.Reason() == "" {
			return
		}
		b.mu.Lock()
		b.info.Reason, b.info.Limits = hits.Reason(), &hits
		b.mu.Unlock()
	}
}

// noteHits records counters read from the backend. The first time a limit
// is met it says so on the channel; an OOM kill ends the bottle, so that a
// memory limit ends the bottle as one on every backend (cgroup v2 does it
// in the kernel with memory.oom.group; cgroup v1 and Docker kill only the
// process the OOM killer chose).
func (b *Bottle) noteHits(h schemas.LimitHits) {
	w := &b.limits
	w.mu.Lock()
	before := w.hits
	w.hits.OOMKills = max(w.hits.OOMKills, h.OOMKills)
	w.hits.PidsRefused = max(w.hits.PidsRefused, h.PidsRefused)
	w.seen = true
	w.mu.Unlock()
	res := b.plan.Resources
	if before.PidsRefused == 0 && h.PidsRefused > 0 {
		b.publishLimit(schemas.LimitReached{Limit: schemas.LimitPids, Max: schemas.PidsLimit(res.Pids).String(),
			Action: "forks over the limit fail (EAGAIN); the bottle goes on"})
	}
	if before.OOMKills == 0 && h.OOMKills > 0 {
		b.publishLimit(schemas.LimitReached{Limit: schemas.LimitMemory, Max: schemas.MemoryLimit(res.MemoryBytes).String(),
			Action: "the kernel killed a process at the limit; the bottle is ended"})
		b.l.log.Warn("bottle reached its memory limit; ending it", "bottle", b.ID(), "limit", schemas.FormatBytes(res.MemoryBytes))
		b.mu.Lock()
		proc := b.proc
		b.mu.Unlock()
		proc.Stop(0) // no grace, and before requestStop's graceful stop: the bottle is out of memory
		b.requestStop("memory limit")
	}
}

// publishLimit records a limit met on the channel.
func (b *Bottle) publishLimit(lr schemas.LimitReached) {
	ev, err := schemas.NewEvent(b.ID(), schemas.KindLimit, lr)
	if err != nil {
		b.l.log.Error("limit event", "bottle", b.ID(), "err", err)
		return
	}
	b.l.cfg.Publisher.Publish(ev)
}

// backendWarnings records what the backend could not enforce as planned,
// for the running lifecycle event, and logs it.
func (b *Bottle) backendWarnings(proc Process) {
	lr, ok := proc.(LimitReporter)
	if !ok {
		return
	}
	ws := lr.Warnings()
	for _, w := range ws {
		b.l.log.Warn(w, "bottle", b.ID())
	}
	b.mu.Lock()
	b.info.Warnings = append([]string(nil), ws...)
	b.mu.Unlock()
}
