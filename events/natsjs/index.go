package natsjs

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// index is Query's index of the stream, kept in this process: for each
// kind, every retained event's time, position, bottle and host, in Query's
// order. It is built by reading the stream on the first Query and brought
// up to the stream's last sequence before every Query after it, so it
// holds every event stored before the Query began, on any machine. The
// events themselves stay on the server: a page is fetched by position.
//
// It never serves what the stream no longer holds: a stream created anew
// (its creation time changed, or its last sequence went back) drops the
// index and rebuilds it; an event that retention removed is found missing
// when its page is fetched, dropped, and the page selected again.
type index struct {
	mu      sync.Mutex
	created time.Time // the stream's creation time when the index began
	next    uint64    // the stream sequence to read next
	first   uint64    // entries below it were pruned
	size    int
	kinds   map[schemas.Kind][]entry // each in Query's order, oldest first
	names   map[string]string        // bottles and hosts, stored once
}

// entry is an event in the index.
type entry struct {
	time   time.Time
	pos    uint64
	bottle string
	host   string
}

// older orders entries oldest first (Query's order, reversed).
func older(a, b entry) int {
	if c := a.time.Compare(b.time); c != 0 {
		return c
	}
	return cmp.Compare(a.pos, b.pos)
}

// reset empties the index for a stream created at created.
func (ix *index) reset(created time.Time) {
	ix.created, ix.next, ix.first, ix.size = created, 1, 1, 0
	ix.kinds = map[schemas.Kind][]entry{}
	ix.names = map[string]string{}
}

func (ix *index) name(s string) string {
	if n, ok := ix.names[s]; ok {
		return n
	}
	ix.names[s] = s
	return s
}

// add files ev. Events arrive in position order but not in time order
// (a spooled event is older than the ones stored before it).
func (ix *index) add(ev schemas.Event) {
	e := entry{time: ev.Time, pos: ev.Pos, bottle: ix.name(ev.Bottle), host: ix.name(events.HostOf(ev))}
	list := ix.kinds[ev.Kind]
	at := len(list)
	if at > 0 && older(list[at-1], e) > 0 {
		at, _ = slices.BinarySearchFunc(list, e, older)
	}
	ix.kinds[ev.Kind] = slices.Insert(list, at, e)
	ix.size++
}

// drop removes the entries of kind at the given positions (events the
// stream no longer holds).
func (ix *index) drop(kind schemas.Kind, gone map[uint64]bool) {
	before := len(ix.kinds[kind])
	ix.kinds[kind] = slices.DeleteFunc(ix.kinds[kind], func(e entry) bool { return gone[e.pos] })
	ix.size -= before - len(ix.kinds[kind])
}

// prune removes the entries below first, the stream's first sequence:
// retention removed them.
func (ix *index) prune(first uint64) {
	for k, list := range ix.kinds {
		ix.kinds[k] = slices.DeleteFunc(list, func(e entry) bool { return e.pos < first })
	}
	ix.size = 0
	for _, list := range ix.kinds {
		ix.size += len(list)
	}
	ix.first = first
}

// hit is an entry that a Query selected.
type hit struct {
	kind schemas.Kind
	entry
}

// selectPage returns the newest limit+1 entries that match f (normalised),
// newest first: one more than a page, to tell whether there is more.
func (ix *index) selectPage(f events.Filter) []hit {
	var out []hit
	before := entry{time: f.Before.Time, pos: f.Before.Pos}
	for _, k := range f.Kinds {
		list := ix.kinds[k]
		end := len(list)
		if !f.Before.IsZero() {
			end, _ = slices.BinarySearchFunc(list, before, older)
		}
		n := 0
		for i := end - 1; i >= 0 && n <= f.Limit; i-- {
			e := list[i]
			if !f.Since.IsZero() && e.time.Before(f.Since) {
				break
			}
			if f.Bottle != "" && e.bottle != f.Bottle || f.Host != "" && e.host != f.Host {
				continue
			}
			out = append(out, hit{kind: k, entry: e})
			n++
		}
	}
	slices.SortFunc(out, func(a, b hit) int { return older(b.entry, a.entry) })
	return out[:min(len(out), f.Limit+1)]
}

// errStreamChanged: an event fetched by position is not the one indexed
// there, so the stream was made anew under the index.
var errStreamChanged = errors.New("the stream changed under the index")

// catchUp brings the index up to the stream's last sequence, rebuilding it
// when the stream was made anew. The caller holds ix.mu.
func (s *Store) catchUp(ctx context.Context) error {
	ix := &s.ix
	st, err := s.js.Stream(ctx, s.n.stream)
	if err != nil {
		return err
	}
	info := st.CachedInfo()
	if ix.kinds == nil || !info.Created.Equal(ix.created) || info.State.LastSeq+1 < ix.next {
		ix.reset(info.Created)
	}
	if first := info.State.FirstSeq; first > ix.first && int(first-ix.first) > ix.size/4 {
		ix.prune(first) // memory only: a removed event is also found missing when fetched
	}
	for ix.next <= info.State.LastSeq {
		evs, err := s.get(ctx, getRequest{Seq: ix.next, NextFor: s.n.events(), Batch: MaxPage})
		if errors.Is(err, errNotFound) || err == nil && len(evs) == 0 {
			return nil // the replica that answered is behind: the next Query reads on
		}
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if !forged(ev) {
				ix.add(ev)
			}
		}
		ix.next = evs[len(evs)-1].Pos + 1
	}
	return nil
}

// fetch reads the events of hits by position, a few requests at a time;
// gone are the positions the stream no longer holds.
func (s *Store) fetch(ctx context.Context, hits []hit) (evs []schemas.Event, gone map[uint64]bool, err error) {
	evs = make([]schemas.Event, len(hits))
	errs := make([]error, len(hits))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, h := range hits {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got, err := s.get(ctx, getRequest{Seq: h.pos})
			switch {
			case err != nil:
				errs[i] = err
			case got[0].Pos != h.pos || got[0].Kind != h.kind || got[0].Bottle != h.bottle || !got[0].Time.Equal(h.time):
				errs[i] = errStreamChanged
			default:
				evs[i] = got[0]
			}
		}()
	}
	wg.Wait()
	gone = map[uint64]bool{}
	for i, err := range errs {
		switch {
		case errors.Is(err, errNotFound):
			gone[hits[i].pos] = true
		case err != nil:
			return nil, nil, err
		}
	}
	return evs, gone, nil
}
