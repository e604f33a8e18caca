package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// queryFixture stores a mix of kinds, bottles and hosts (two spellings of
// one host), with times out of append order and some equal, and returns
// the time of the first event.
func queryFixture(t *testing.T, s events.Store) time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	hosts := []string{"api.example.com", "API.Example.COM.", "other.example"}
	var evs []schemas.Event
	for i := range 60 {
		bottle := []string{"qa", "qb"}[i%2]
		var ev schemas.Event
		switch i % 5 {
		case 0, 1, 2:
			ev = Event(t, bottle, schemas.KindDenial, schemas.Denial{ID: fmt.Sprint("d", i), Host: hosts[i%3], Method: "GET", Path: "/"})
		case 3:
			ev = Event(t, bottle, schemas.KindProposal, schemas.Proposal{ID: fmt.Sprint("p", i), Host: hosts[(i+1)%3]})
		default:
			ev = Event(t, bottle, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning})
		}
		// Every seventh event arrives late (an old time, as from a
		// sidecar's spool); events 20-29 share one time, so pos decides.
		ev.Time = t0.Add(time.Duration(i) * time.Second)
		if i%7 == 6 {
			ev.Time = t0.Add(time.Duration(i-30) * time.Second)
		}
		if i >= 20 && i < 30 {
			ev.Time = t0.Add(20 * time.Second)
		}
		evs = append(evs, ev)
	}
	mustAppend(t, s, evs[:30]...)
	mustAppend(t, s, evs[30:]...)
	return t0
}

// want is what Query must return for f: every stored event that f
// matches, newest first.
func want(t *testing.T, s events.Store, f events.Filter) []schemas.Event {
	t.Helper()
	f, err := f.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	all, _ := ReadAll(t, s, events.Cursor{}, 0)
	var out []schemas.Event
	for _, ev := range all {
		if f.Match(ev) {
			out = append(out, ev)
		}
	}
	slices.SortFunc(out, func(a, b schemas.Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.Pos, a.Pos)
	})
	return out
}

// QueryAll pages through Query with f, checking each page's bounds, and
// returns every event in the order received.
func QueryAll(t testing.TB, s events.Store, f events.Filter) []schemas.Event {
	t.Helper()
	var out []schemas.Event
	for range 10_000 {
		m, err := s.Query(ctx(t.(*testing.T)), f)
		if err != nil {
			t.Fatalf("query %+v: %v", f, err)
		}
		limit := cmp.Or(f.Limit, events.DefaultQueryLimit)
		if len(m.Events) > limit {
			t.Fatalf("query with limit %d returned %d events", limit, len(m.Events))
		}
		out = append(out, m.Events...)
		if m.Next.IsZero() {
			return out
		}
		if len(m.Events) == 0 || m.Next != events.MarkOf(m.Events[len(m.Events)-1]) {
			t.Fatalf("a page of %d events says there is more after %+v", len(m.Events), m.Next)
		}
		f.Before = m.Next
	}
	t.Fatal("query paging does not end")
	return nil
}

func testQuery(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	t0 := queryFixture(t, s)
	denial, proposal := schemas.KindDenial, schemas.KindProposal
	for _, f := range []events.Filter{
		{Kinds: []schemas.Kind{denial}},
		{Kinds: []schemas.Kind{denial}, Limit: 4},
		{Kinds: []schemas.Kind{denial}, Bottle: "qa", Limit: 3},
		{Kinds: []schemas.Kind{denial}, Host: "api.example.com", Limit: 5},
		{Kinds: []schemas.Kind{denial}, Host: "API.EXAMPLE.com.", Bottle: "qb", Limit: 2},
		{Kinds: []schemas.Kind{denial}, Since: t0.Add(20 * time.Second), Limit: 4},
		{Kinds: []schemas.Kind{denial}, Host: "other.example", Since: t0.Add(10 * time.Second), Limit: 1},
		{Kinds: []schemas.Kind{denial, proposal}, Host: "api.example.com", Limit: 3},
		{Kinds: []schemas.Kind{proposal, schemas.KindLifecycle, denial, denial}, Bottle: "qb", Limit: 7},
		{Kinds: []schemas.Kind{schemas.KindLifecycle}, Host: "api.example.com"},
		{Kinds: []schemas.Kind{denial}, Bottle: "nobody"},
		{Kinds: []schemas.Kind{denial}, Since: t0.Add(time.Hour)},
	} {
		t.Run(fmt.Sprintf("%v/%s/%s/%d", f.Kinds, f.Bottle, f.Host, f.Limit), func(t *testing.T) {
			got, exp := QueryAll(t, s, f), want(t, s, f)
			if len(got) != len(exp) {
				t.Fatalf("query returned %d events, the store holds %d that match", len(got), len(exp))
			}
			for i := range exp {
				if got[i].ID != exp[i].ID || got[i].Pos != exp[i].Pos || !got[i].Time.Equal(exp[i].Time) ||
					string(got[i].Payload) != string(exp[i].Payload) || got[i].Seq != exp[i].Seq {
					t.Fatalf("event %d is %s (pos %d, %s), want %s (pos %d, %s)", i, got[i].ID, got[i].Pos, got[i].Time, exp[i].ID, exp[i].Pos, exp[i].Time)
				}
			}
		})
	}
	if n := len(want(t, s, events.Filter{Kinds: []schemas.Kind{denial}, Host: "api.example.com"})); n != 24 {
		t.Errorf("the two spellings of api.example.com should be one host in 24 denials; the filter found %d", n)
	}

	// A page, then newer events: the older pages are the same as before.
	f := events.Filter{Kinds: []schemas.Kind{denial}, Limit: 10}
	first, err := s.Query(ctx(t), f)
	if err != nil || len(first.Events) != 10 || first.Next.IsZero() {
		t.Fatalf("first page: %d events, next %+v, %v", len(first.Events), first.Next, err)
	}
	older := want(t, s, events.Filter{Kinds: []schemas.Kind{denial}})[10:]
	mustAppend(t, s, Event(t, "qa", denial, schemas.Denial{ID: "new", Host: "api.example.com"}))
	f.Before = first.Next
	if rest := QueryAll(t, s, f); len(rest) != len(older) || rest[0].ID != older[0].ID {
		t.Errorf("after a new event, the pages after the first hold %d events, want the %d older ones", len(rest), len(older))
	}

	if _, err := s.Query(ctx(t), events.Filter{}); !errors.Is(err, events.ErrFilter) {
		t.Errorf("query without a kind: %v, want ErrFilter", err)
	}
	if m, err := s.Query(ctx(t), events.Filter{Kinds: []schemas.Kind{denial}, Limit: events.MaxQueryLimit + 1}); err != nil || len(m.Events) > events.MaxQueryLimit {
		t.Errorf("query over the limit: %d events, %v", len(m.Events), err)
	}
}

// testQueryDefaultLimit checks that a filter without a limit returns
// DefaultQueryLimit events and says there are more.
func testQueryDefaultLimit(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	var evs []schemas.Event
	for i := range events.DefaultQueryLimit + 5 {
		evs = append(evs, Event(t, "a", schemas.KindDenial, schemas.Denial{ID: fmt.Sprint(i), Host: "h.example"}))
	}
	mustAppend(t, s, evs...)
	m, err := s.Query(ctx(t), events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Host: "h.example"})
	if err != nil || len(m.Events) != events.DefaultQueryLimit || m.Next.IsZero() {
		t.Fatalf("query without a limit: %d events, next %+v, %v; want %d and a next page", len(m.Events), m.Next, err, events.DefaultQueryLimit)
	}
	if m.Events[0].ID != evs[len(evs)-1].ID {
		t.Errorf("the first event is %s, want the newest, %s", m.Events[0].ID, evs[len(evs)-1].ID)
	}
}
