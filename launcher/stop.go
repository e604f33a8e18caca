package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// ErrNotRunning is returned (wrapped) by Stop for a bottle that has ended.
var ErrNotRunning = errors.New("bottle is not running")

// ownerPoll is how often a process waiting for another owner to stop a
// bottle checks that the owner is still alive; the stop itself is seen on
// the channel.
const ownerPoll = 500 * time.Millisecond

// watchStops follows the bottle's events for stop requests from other
// processes, from before the bottle is announced, so that no request for
// it can be missed.
func (b *Bottle) watchStops(ctx context.Context) {
	reg := b.l.cfg.Registry
	if reg == nil {
		return
	}
	from, err := reg.Head(ctx, b.ID())
	if err != nil {
		b.l.log.Warn("stop requests will not be seen", "bottle", b.ID(), "err", err)
		return
	}
	wctx, cancel := context.WithCancel(context.Background())
	b.stopWatch = cancel
	b.stopWatchWG.Add(1)
	go func() {
		defer b.stopWatchWG.Done()
		err := reg.Follow(wctx, from, func(p events.Page) error {
			for _, ev := range p.Events {
				if ev.Kind == schemas.KindStopRequested {
					var req schemas.StopRequest
					_ = ev.Decode(&req)
					b.requestStop(fmt.Sprintf("requested by pid %d: %s", req.By, req.Reason))
				}
			}
			return nil
		})
		if err != nil && wctx.Err() == nil {
			b.l.log.Warn("following stop requests ended", "bottle", b.ID(), "err", err)
		}
	}()
}

// Stop stops bottle id and waits until it has ended or ctx ends. A bottle
// this process owns is stopped directly. Another owner is asked with a
// stop-request event on the channel and applies it itself; Stop waits for
// its final lifecycle event. When the owner is dead, Stop cleans up what it
// left and records the bottle as failed.
func (l *Launcher) Stop(ctx context.Context, id, reason string) error {
	if b, ok := l.Get(id); ok {
		return b.Stop(ctx)
	}
	if why := CheckID(id); why != "" {
		return fmt.Errorf("stop: bottle id %q %s", id, why)
	}
	if l.cfg.Registry == nil {
		return fmt.Errorf("stop %s: %w", id, ErrUnknownBottle)
	}
	// The cursor first, the state second: an end recorded after the
	// cursor is seen by awaitEnd, one recorded before it by Lookup.
	from, err := l.cfg.Registry.Head(ctx, id)
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	in, err := l.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if Terminal(in.State) {
		return fmt.Errorf("stop %s: %w (it has %s)", id, ErrNotRunning, in.State)
	}
	if in.Lost {
		return fmt.Errorf("stop %s: %w: its owner on machine %s stopped refreshing its lease (crashed or cut off); stop it there", id, ErrNotRunning, in.Owner.Machine)
	}
	if in.Orphaned || in.Unstored != "" { // Lookup asked whether its owner lives
		return l.cleanupOrphan(ctx, in)
	}
	ev, err := schemas.NewEvent(id, schemas.KindStopRequested, schemas.StopRequest{By: os.Getpid(), Reason: reason})
	if err != nil {
		return err
	}
	l.cfg.Publisher.Publish(ev)
	l.flush(ctx)
	return l.awaitEnd(ctx, in, from)
}

// awaitEnd follows a bottle owned by another process until its lifecycle
// reaches a terminal state, cleaning up itself if the owner dies first.
func (l *Launcher) awaitEnd(ctx context.Context, in Info, from events.Cursor) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan error, 1)
	go func() {
		errDone := errors.New("done")
		err := l.cfg.Registry.Follow(fctx, from, func(p events.Page) error {
			for _, ev := range p.Events {
				if ev.Kind != schemas.KindLifecycle {
					continue
				}
				var lc schemas.Lifecycle
				if ev.Decode(&lc) == nil && Terminal(lc.State) {
					return errDone
				}
			}
			return nil
		})
		if errors.Is(err, errDone) {
			err = nil
		}
		ended <- err
	}()
	tick := time.NewTicker(ownerPoll)
	defer tick.Stop()
	for {
		select {
		case err := <-ended:
			if err != nil {
				return fmt.Errorf("stop %s: %w", in.ID, err)
			}
			return nil
		case <-tick.C:
			if !l.ownerLives(ctx, in) {
				cancel()
				if l.elsewhere(in) {
					return fmt.Errorf("stop %s: its owner on machine %s stopped refreshing its lease before the bottle ended; stop it there", in.ID, in.Owner.Machine)
				}
				return l.cleanupOrphan(ctx, in)
			}
		case <-ctx.Done():
			return fmt.Errorf("stop %s: waiting for its owner (pid %d): %w", in.ID, in.Owner.PID, ctx.Err())
		}
	}
}
