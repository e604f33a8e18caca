package natsjs

import (
	"context"
	"errors"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/nats-io/nats.go"
)

// followPage is how many events a follower reads at once.
const followPage = MaxPage

// Follow replays and follows from; see events.Store. It is the same loop
// as SQLite's: read a page, hand it to fn, and when there is nothing more,
// wait for the doorbell. The doorbell is a core NATS subscription to the
// headers the stream republishes after it stores each event (of the
// bottle, or of every bottle), opened before the first read, so an event
// stored during a read rings it. A slow poll is the safety net for a ring
// lost to a reconnect. While the server is away, Read fails and the
// follower tries again, with backoff, until ctx ends or the store closes:
// a desk or an owner outlives a server restart.
func (s *Store) Follow(ctx context.Context, from events.Cursor, fn func(events.Page) error) error {
	if s.isClosed() {
		return events.ErrClosed
	}
	rung := make(chan struct{}, 1)
	sub, err := s.nc.Subscribe(s.n.bellOf(from.Bottle), func(*nats.Msg) {
		select {
		case rung <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return s.opErr(ctx, "follow "+from.String(), err)
	}
	defer sub.Unsubscribe()
	poll := time.NewTimer(s.opts.Poll)
	defer poll.Stop()
	cur, backoff := from, 100*time.Millisecond
	for {
		page, err := s.Read(ctx, cur, followPage)
		switch {
		case err == nil:
			backoff = 100 * time.Millisecond
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, events.ErrClosed):
			return events.ErrClosed
		default:
			s.opts.Logger.Warn("follow the NATS event channel: read failed; retrying", "from", cur.String(), "err", err)
			if err := s.sleep(ctx, backoff); err != nil {
				return err
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		cur = page.Next
		if !page.Empty() {
			if err := fn(page); err != nil {
				return err
			}
			continue
		}
		poll.Reset(s.opts.Poll)
		select {
		case <-rung:
		case <-poll.C:
		case <-s.done:
			return events.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sleep waits d, or returns why it cannot.
func (s *Store) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.done:
		return events.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}
