package natsjs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// MaxPage bounds Read's limit (and a direct get's batch), so one call
// cannot pull the whole stream into memory.
const MaxPage = 1000

// Read returns the page after from; see events.Store. Retention removes a
// bottle's old events kind by kind, so a bottle's seqs may have holes
// anywhere, not only at the start: a page ends before the first hole it
// meets, and the next page begins with that hole's Gap, so gaps always
// come before the events, as events.Page says.
func (s *Store) Read(ctx context.Context, from events.Cursor, limit int) (events.Page, error) {
	if s.isClosed() {
		return events.Page{}, events.ErrClosed
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var page events.Page
	var err error
	if from.Bottle != "" {
		page, err = s.readBottle(ctx, from, limit)
	} else {
		page, err = s.readAll(ctx, from, limit)
	}
	if err != nil {
		return events.Page{}, s.opErr(ctx, "read from "+from.String(), err)
	}
	return page, nil
}

// readBottle reads one bottle's events after a seq.
func (s *Store) readBottle(ctx context.Context, from events.Cursor, limit int) (events.Page, error) {
	page := events.Page{Next: from}
	start, err := s.locate(ctx, from.Bottle, from.After)
	if err != nil || start == 0 {
		return page, err
	}
	evs, err := s.get(ctx, getRequest{Seq: start, NextFor: s.n.ofBottle(from.Bottle), Batch: limit})
	if err != nil {
		return page, err
	}
	want := from.After + 1
	for _, ev := range evs {
		if forged(ev) {
			continue
		}
		if ev.Seq > want {
			if len(page.Events) > 0 {
				break // the hole opens the next page
			}
			page.Gaps = []events.Gap{{Bottle: from.Bottle, First: want, Last: ev.Seq - 1}}
		}
		page.Events = append(page.Events, ev)
		want = ev.Seq + 1
	}
	if n := len(page.Events); n > 0 {
		last := page.Events[n-1]
		page.Next.After = last.Seq
		s.hintAt(last)
	}
	return page, nil
}

// hint returns the stream sequence of bottle's event seq when this store
// has read or written it lately: where a follower's next read starts,
// without a search.
func (s *Store) hint(bottle string, seq uint64) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, ok := s.hints[seqOf{bottle, seq}]
	return pos, ok
}

// hintAt records where ev is, for hint.
func (s *Store) hintAt(ev schemas.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.hints) > 10_000 {
		clear(s.hints) // a bound, not a cache policy: it refills on use
	}
	s.hints[seqOf{ev.Bottle, ev.Seq}] = ev.Pos
}

// locate returns the stream sequence to read bottle's events after seq
// from (0: nothing after it). The stream is ordered by position, and a
// bottle's seqs grow with it, so a binary search over positions with
// "first event of the bottle at or after" finds it in a few requests.
func (s *Store) locate(ctx context.Context, bottle string, seq uint64) (uint64, error) {
	if pos, ok := s.hint(bottle, seq); ok {
		return pos + 1, nil // a follower's cursor: the last event it read
	}
	filter := s.n.ofBottle(bottle)
	last, err := s.get(ctx, getRequest{LastFor: filter, positional: true})
	switch {
	case errors.Is(err, errNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case last[0].Seq <= seq:
		return 0, nil
	case seq == 0:
		return 1, nil
	}
	lo, hi := uint64(1), last[0].Pos
	for lo < hi {
		mid := lo + (hi-lo)/2
		got, err := s.get(ctx, getRequest{Seq: mid, NextFor: filter, positional: true})
		if err != nil {
			return 0, fmt.Errorf("find seq %d of bottle %s: %w", seq, bottle, err)
		}
		if got[0].Seq > seq {
			hi = mid // every position in (the event before, got] reads from got
		} else {
			lo = got[0].Pos + 1
		}
	}
	return lo, nil
}

// readAll reads every bottle's events after a position. A hole in a
// bottle's seqs that the reader's range may hold is reported (with First
// 0, as the reader cannot know which it saw): before the first event of
// each bottle in the page, the previous event of the bottle is looked up;
// between two events of a bottle in the page, the hole is in plain view.
// A batch of nothing but forged messages is stepped over, so an empty
// page still means that nothing is stored after it.
func (s *Store) readAll(ctx context.Context, from events.Cursor, limit int) (events.Page, error) {
	for {
		page, full, err := s.readAllOnce(ctx, from, limit)
		if err != nil || !page.Empty() || !full {
			return page, err
		}
		from = page.Next
	}
}

// readAllOnce reads one batch for readAll; full reports a whole batch.
func (s *Store) readAllOnce(ctx context.Context, from events.Cursor, limit int) (page events.Page, full bool, err error) {
	page = events.Page{Next: from}
	evs, err := s.get(ctx, getRequest{Seq: from.After + 1, NextFor: s.n.events(), Batch: limit})
	switch {
	case errors.Is(err, errNotFound):
		return page, false, nil
	case err != nil:
		return page, false, err
	case len(evs) == 0:
		return page, false, nil
	}
	full = len(evs) == limit
	prev := map[string]uint64{} // bottle -> seq of its last event so far
	next := from.After          // past what the page holds or stepped over
	for _, ev := range evs {
		if forged(ev) {
			next = ev.Pos
			continue
		}
		p, ok := prev[ev.Bottle]
		if !ok && ev.Seq > 1 && !s.follows(ev) {
			if p, err = s.seqBefore(ctx, ev); err != nil {
				return page, false, err
			}
			ok = true
		}
		if ok && ev.Seq > p+1 {
			if len(page.Events) > 0 {
				break // the hole opens the next page
			}
			page.Gaps = append(page.Gaps, events.Gap{Bottle: ev.Bottle, Last: ev.Seq - 1})
		}
		prev[ev.Bottle] = ev.Seq
		page.Events = append(page.Events, ev)
		next = ev.Pos
	}
	for _, ev := range page.Events {
		s.remember(ev.Bottle, mark{seq: ev.Seq, pos: ev.Pos})
	}
	page.Next.After = next
	return page, full, nil
}

// follows reports whether the store has seen the event of ev's bottle
// just before it (by appending or reading it), so no hole can be there.
func (s *Store) follows(ev schemas.Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.last[ev.Bottle]
	return ok && m.seq+1 == ev.Seq && m.pos < ev.Pos
}

// seqBefore returns the seq of the newest event of ev's bottle stored
// before ev (0 if none is left): the last of each of the bottle's
// subjects up to the position before ev.
func (s *Store) seqBefore(ctx context.Context, ev schemas.Event) (uint64, error) {
	if ev.Pos <= 1 {
		return 0, nil
	}
	got, err := s.get(ctx, getRequest{MultiLast: []string{s.n.ofBottle(ev.Bottle)}, UpToSeq: ev.Pos - 1, Batch: 1024, positional: true})
	if err != nil && !errors.Is(err, errNotFound) {
		return 0, fmt.Errorf("find the event of bottle %s before position %d: %w", ev.Bottle, ev.Pos, err)
	}
	var seq uint64
	for _, g := range got {
		seq = max(seq, g.Seq)
	}
	return seq, nil
}
