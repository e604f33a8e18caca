package natsjs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// denials makes n denials of bottle about host, each a distinct path.
func denials(t *testing.T, bottle, host string, n int) []schemas.Event {
	var evs []schemas.Event
	for i := range n {
		evs = append(evs, storetest.Event(t, bottle, schemas.KindDenial, schemas.Denial{Host: host, Method: "GET", Path: fmt.Sprint("/", i)}))
	}
	return evs
}

func mustAppend(t *testing.T, s events.Store, evs []schemas.Event) {
	t.Helper()
	if _, err := s.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// checkQuery pages through a desk's Query with f and checks the events
// against what Read finds that f matches, newest first.
func checkQuery(t *testing.T, reader, desk events.Store, f events.Filter) []schemas.Event {
	t.Helper()
	got := storetest.QueryAll(t, desk, f)
	nf, _ := f.Normalize()
	all, _ := storetest.ReadAll(t, reader, events.Cursor{}, 0)
	var want []string
	for i := len(all) - 1; i >= 0; i-- { // these events' times grow with their positions
		if nf.Match(all[i]) {
			want = append(want, all[i].ID)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("query %+v: %d events, the stream holds %d that match", f, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i] {
			t.Fatalf("query %+v: event %d is %s, want %s", f, i, got[i].ID, want[i])
		}
	}
	return got
}

// TestIndexFollowsOtherWriters builds a desk's index, then stores events
// through another connection (another machine): the desk's next Query
// finds them.
func TestIndexFollowsOtherWriters(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	desk, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	f := events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Host: "a.test", Limit: 7}
	mustAppend(t, owner, denials(t, "b1", "a.test", 10))
	if got := checkQuery(t, owner, desk, f); len(got) != 10 {
		t.Fatalf("%d denials, want 10", len(got))
	}
	mustAppend(t, owner, append(denials(t, "b2", "a.test", 5), denials(t, "b2", "b.test", 5)...))
	if got := checkQuery(t, owner, desk, f); len(got) != 15 {
		t.Fatalf("after more were stored: %d denials, want 15", len(got))
	}
}

// TestIndexRetention builds a desk's index, then stores more than the
// stream retains per bottle and kind: the removed events the index holds
// are not served, and every page is still full.
func TestIndexRetention(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	s, err := open(t, natsjs.Options{URL: srv.URL(), Retain: 12})
	if err != nil {
		t.Fatal(err)
	}
	f := events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Limit: 5}
	// r2 first: the events retention removes are then in the middle of
	// the stream, where only a fetch finds them missing.
	for _, b := range []string{"r2", "r1"} {
		mustAppend(t, s, denials(t, b, "a.test", 10))
	}
	if got := checkQuery(t, s, s, f); len(got) != 20 {
		t.Fatalf("%d denials, want 20", len(got))
	}
	mustAppend(t, s, denials(t, "r1", "a.test", 8)) // r1 keeps its newest 12: 6 indexed ones go
	if got := checkQuery(t, s, s, f); len(got) != 22 {
		t.Fatalf("after retention: %d denials, want 22 (12 of r1, 10 of r2)", len(got))
	}
}

// TestIndexStreamMadeAnew builds a desk's index, then the stream is
// deleted and made again with other events (an operator's reset): the
// desk must serve the new stream's events, never the old index.
func TestIndexStreamMadeAnew(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	ctx := context.Background()
	desk, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	old, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, old, denials(t, "old", "a.test", 30))
	f := events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Limit: 10}
	checkQuery(t, old, desk, f)

	js := rawJetStream(t, srv.URL())
	if err := js.DeleteStream(ctx, "BOTBOTTLE_EVENTS"); err != nil {
		t.Fatal(err)
	}
	fresh, err := open(t, natsjs.Options{URL: srv.URL()}) // makes the stream again
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, fresh, denials(t, "new", "a.test", 40)) // more than before: the last sequence does not go back
	got := checkQuery(t, fresh, desk, f)
	for _, ev := range got {
		if ev.Bottle != "new" {
			t.Fatalf("the desk served an event of the deleted stream: %s of %s", ev.ID, ev.Bottle)
		}
	}
	if len(got) != 40 {
		t.Fatalf("%d denials, want the new stream's 40", len(got))
	}
}
