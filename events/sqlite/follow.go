package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
)

// followPage is how many events a follower reads at once. A follower that
// finds a full page waiting was behind; it is counted
// (follower_behind_total) and catches up page by page.
const followPage = 1000

// Follow replays and follows from; see events.Store. It reads, hands the
// page to fn outside any transaction (so a slow fn never holds a read
// snapshot open and never delays a writer or a checkpoint), and when it has
// read everything waits: a follower of every bottle for the doorbell or
// the safety-net poll, a follower of one bottle for the tail to ring its
// bottle (tail.go).
func (s *Store) Follow(ctx context.Context, from events.Cursor, fn func(events.Page) error) error {
	if s.closed() {
		return events.ErrClosed
	}
	wait := s.local.Wait
	var poll <-chan time.Time // a bottle's follower: the tail polls for it
	if from.Bottle != "" {
		b, unwatch, err := s.tail.watch(from.Bottle)
		if err != nil {
			return s.readErr(ctx, from, err)
		}
		defer unwatch()
		wait = b.Wait
	} else {
		s.allFollowers.Add(1)
		defer s.allFollowers.Add(-1)
		t := time.NewTicker(s.poll)
		defer t.Stop()
		poll = t.C
	}
	cur := from
	for {
		rung := wait() // before reading: a ring during the read is not lost
		s.followReads.Add(1)
		page, err := s.Read(ctx, cur, followPage)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, events.ErrClosed):
			return events.ErrClosed
		default:
			return err
		}
		cur = page.Next
		if !page.Empty() {
			if len(page.Events) == followPage {
				s.metrics.FollowerBehind.Inc()
			}
			if err := fn(page); err != nil {
				return err
			}
			continue
		}
		select {
		case <-rung:
		case <-poll:
		case <-s.closing:
			return events.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
