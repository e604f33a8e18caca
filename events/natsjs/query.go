package natsjs

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Query returns the stored events that match f, newest first; see
// events.Store. The stream's subjects index kind and bottle: the server
// sends only the events of the asked kinds (of the asked bottle), and the
// host, the time and the page mark are checked here. So, unlike SQLite's
// indexes, a page costs a pass over the events of those kinds that the
// stream retains (bounded by Options.Retain per bottle and kind), newest
// kept in a heap of f.Limit. The package doc has the numbers.
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
	top := &newest{limit: f.Limit}
	for _, k := range f.Kinds {
		if err := s.scanKind(ctx, s.n.ofKind(f.Bottle, string(k)), func(ev schemas.Event) {
			if f.Match(ev) {
				top.offer(ev)
			}
		}); err != nil {
			return events.Matches{}, s.opErr(ctx, "query", err)
		}
	}
	var m events.Matches
	m.Events = top.sorted()
	if top.more && len(m.Events) > 0 {
		m.Next = events.MarkOf(m.Events[len(m.Events)-1])
	}
	return m, nil
}

// scanKind passes every event of a subject filter to fn, in stream order,
// a direct-get batch at a time.
func (s *Store) scanKind(ctx context.Context, filter string, fn func(schemas.Event)) error {
	for from := uint64(1); ; {
		evs, err := s.get(ctx, getRequest{Seq: from, NextFor: filter, Batch: MaxPage})
		if errors.Is(err, errNotFound) || err == nil && len(evs) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		for _, ev := range evs {
			fn(ev)
		}
		from = evs[len(evs)-1].Pos + 1
	}
}

// newest keeps the limit newest events offered to it (Query's order: by
// time, then position); more reports that it turned some away.
type newest struct {
	limit int
	evs   []schemas.Event // a heap whose root is the oldest kept
	more  bool
}

// newer orders events as Query returns them: newest first.
func newer(a, b schemas.Event) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	return cmp.Compare(b.Pos, a.Pos)
}

func (n *newest) Len() int           { return len(n.evs) }
func (n *newest) Less(i, j int) bool { return newer(n.evs[i], n.evs[j]) > 0 } // the oldest on top
func (n *newest) Swap(i, j int)      { n.evs[i], n.evs[j] = n.evs[j], n.evs[i] }
func (n *newest) Push(x any)         { n.evs = append(n.evs, x.(schemas.Event)) }
func (n *newest) Pop() any {
	last := n.evs[len(n.evs)-1]
	n.evs = n.evs[:len(n.evs)-1]
	return last
}

func (n *newest) offer(ev schemas.Event) {
	if len(n.evs) < n.limit {
		heap.Push(n, ev)
		return
	}
	n.more = true
	if newer(ev, n.evs[0]) < 0 {
		n.evs[0] = ev
		heap.Fix(n, 0)
	}
}

func (n *newest) sorted() []schemas.Event {
	out := slices.Clone(n.evs)
	slices.SortFunc(out, newer)
	return out
}
