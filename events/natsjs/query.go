package natsjs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
)

// maxSelect bounds how often one Query selects its page again after
// finding some of it removed by retention meanwhile.
const maxSelect = 100

// Query returns the stored events that match f, newest first; see
// events.Store. It selects the page from the store's index (index), which
// it first brings up to the stream's last sequence, and fetches the page's
// events by position. The first Query of a store builds the index by
// reading the stream once; later ones read only what was stored since.
func (s *Store) Query(ctx context.Context, f events.Filter) (events.Matches, error) {
	if s.isClosed() {
		return events.Matches{}, events.ErrClosed
	}
	f, err := f.Normalize()
	if err != nil {
		return events.Matches{}, fmt.Errorf("query NATS event stream %s: %w", s.n.stream, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for range maxSelect {
		m, again, err := s.queryOnce(ctx, f)
		if err != nil {
			return events.Matches{}, s.opErr(ctx, "query", err)
		}
		if !again {
			return m, nil
		}
	}
	return events.Matches{}, s.opErr(ctx, "query", fmt.Errorf("retention removed part of the page %d times in a row", maxSelect))
}

// queryOnce selects and fetches one page; again reports a page that must
// be selected again (part of it is gone, or the stream changed).
func (s *Store) queryOnce(ctx context.Context, f events.Filter) (m events.Matches, again bool, err error) {
	s.ix.mu.Lock()
	err = s.catchUp(ctx)
	var hits []hit
	if err == nil {
		hits = s.ix.selectPage(f)
	}
	s.ix.mu.Unlock()
	if err != nil {
		return m, false, err
	}
	evs, gone, err := s.fetch(ctx, hits)
	if errors.Is(err, errStreamChanged) {
		s.ix.mu.Lock()
		s.ix.kinds = nil // rebuilt by the next catchUp
		s.ix.mu.Unlock()
		return m, true, nil
	}
	if err != nil {
		return m, false, err
	}
	if len(gone) > 0 {
		s.ix.mu.Lock()
		for _, k := range f.Kinds {
			s.ix.drop(k, gone)
		}
		s.ix.mu.Unlock()
		return m, true, nil
	}
	if len(evs) > f.Limit {
		evs = evs[:f.Limit]
		m.Next = events.MarkOf(evs[len(evs)-1])
	}
	m.Events = evs
	return m, false, nil
}
