package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Open returns a new, empty store; the suite closes it.
type Open func(t *testing.T) events.Store

// Run runs the whole contract against stores made by open.
func Run(t *testing.T, open Open) {
	t.Run("AppendAssignsSeqAndPos", func(t *testing.T) { testAppendAssigns(t, open(t)) })
	t.Run("DuplicateIDStoredOnce", func(t *testing.T) { testDuplicates(t, open(t)) })
	t.Run("InvalidEventFailsTheBatch", func(t *testing.T) { testInvalid(t, open(t)) })
	t.Run("ReadPages", func(t *testing.T) { testReadPages(t, open(t)) })
	t.Run("HeadAndLatest", func(t *testing.T) { testHeadLatest(t, open(t)) })
	t.Run("FollowSeamUnderConcurrentWrites", func(t *testing.T) { testFollowSeam(t, open(t)) })
	t.Run("FollowStops", func(t *testing.T) { testFollowStops(t, open(t)) })
	t.Run("DenialQueryRedacted", func(t *testing.T) { testRedaction(t, open(t)) })
	t.Run("Query", func(t *testing.T) { testQuery(t, open(t)) })
	t.Run("QueryDefaultLimit", func(t *testing.T) { testQueryDefaultLimit(t, open(t)) })
}

// Event makes a valid event of bottle with a small payload; it fails t on
// error.
func Event(t testing.TB, bottle string, kind schemas.Kind, payload any) schemas.Event {
	t.Helper()
	ev, err := schemas.NewEvent(bottle, kind, payload)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func closeAtEnd(t *testing.T, s events.Store) {
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
}

func mustAppend(t *testing.T, s events.Store, evs ...schemas.Event) []schemas.Event {
	t.Helper()
	got, err := s.Append(ctx(t), evs)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return got
}

// ReadAll reads every event after from, paging with limit, and the gaps.
func ReadAll(t testing.TB, s events.Store, from events.Cursor, limit int) ([]schemas.Event, []events.Gap) {
	t.Helper()
	var evs []schemas.Event
	var gaps []events.Gap
	for {
		p, err := s.Read(context.Background(), from, limit)
		if err != nil {
			t.Fatalf("read from %s: %v", from, err)
		}
		if p.Empty() {
			return evs, gaps
		}
		evs = append(evs, p.Events...)
		gaps = append(gaps, p.Gaps...)
		from = p.Next
	}
}

func testAppendAssigns(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	a1, b1, a2 := Event(t, "a", schemas.KindDenial, 1), Event(t, "b", schemas.KindDenial, 2), Event(t, "a", schemas.KindReload, 3)
	got := mustAppend(t, s, a1, b1, a2)
	want := []struct {
		id  string
		seq uint64
	}{{a1.ID, 1}, {b1.ID, 1}, {a2.ID, 2}}
	if len(got) != len(want) {
		t.Fatalf("stored %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].Seq != w.seq {
			t.Errorf("event %d: id %s seq %d, want %s seq %d", i, got[i].ID, got[i].Seq, w.id, w.seq)
		}
		if i > 0 && got[i].Pos <= got[i-1].Pos {
			t.Errorf("event %d: pos %d not after %d", i, got[i].Pos, got[i-1].Pos)
		}
	}
	if err := s.Sync(ctx(t)); err != nil {
		t.Fatalf("sync after append: %v", err)
	}
	more := mustAppend(t, s, Event(t, "b", schemas.KindDenial, 4))
	if more[0].Seq != 2 || more[0].Pos <= got[2].Pos {
		t.Errorf("next append: seq %d pos %d, want seq 2 and pos after %d", more[0].Seq, more[0].Pos, got[2].Pos)
	}
	stored, _ := ReadAll(t, s, events.AfterSeq("a", 0), 0)
	if len(stored) != 2 || string(stored[1].Payload) != "3" || stored[1].Kind != schemas.KindReload ||
		!stored[1].Time.Equal(a2.Time) || stored[1].Bottle != "a" {
		t.Errorf("read back %+v, want a's two events as appended", stored)
	}
}

func testDuplicates(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	ev := Event(t, "a", schemas.KindDenial, "x")
	if got := mustAppend(t, s, ev, ev); len(got) != 1 {
		t.Fatalf("a batch holding one event twice stored %d", len(got))
	}
	again := ev
	again.Payload = []byte(`"changed"`)
	if got := mustAppend(t, s, again, Event(t, "a", schemas.KindDenial, "y")); len(got) != 1 || got[0].Seq != 2 {
		t.Fatalf("re-append stored %+v, want only the new event, with seq 2", got)
	}
	all, _ := ReadAll(t, s, events.Cursor{}, 0)
	if len(all) != 2 || string(all[0].Payload) != `"x"` {
		t.Fatalf("store holds %+v, want the first copy of the duplicate and the new event", all)
	}
}

func testInvalid(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	bad := Event(t, "a", schemas.KindDenial, 1)
	bad.Bottle = ""
	_, err := s.Append(ctx(t), []schemas.Event{Event(t, "a", schemas.KindDenial, 0), bad})
	if err == nil {
		t.Fatal("append of an event without a bottle succeeded")
	}
	for _, want := range []string{"event 1", "bottle", "empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if all, _ := ReadAll(t, s, events.Cursor{}, 0); len(all) != 0 {
		t.Errorf("a failed batch stored %d events", len(all))
	}
}

func testReadPages(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	var batch []schemas.Event
	for i := range 25 {
		batch = append(batch, Event(t, fmt.Sprintf("b%d", i%3), schemas.KindDenial, i))
	}
	stored := mustAppend(t, s, batch...)
	all, gaps := ReadAll(t, s, events.Cursor{}, 4)
	if len(gaps) != 0 || len(all) != 25 {
		t.Fatalf("paged read: %d events %d gaps, want 25 and 0", len(all), len(gaps))
	}
	for i := range all {
		if all[i].ID != stored[i].ID {
			t.Fatalf("event %d is %s, want %s (pos order)", i, all[i].ID, stored[i].ID)
		}
	}
	b1, _ := ReadAll(t, s, events.AfterSeq("b1", 3), 2)
	if len(b1) != 5 || b1[0].Seq != 4 || b1[4].Seq != 8 {
		t.Fatalf("b1 after seq 3: %d events from seq %d, want seqs 4..8", len(b1), b1[0].Seq)
	}
	p, err := s.Read(ctx(t), events.AfterPos(stored[24].Pos), 10)
	if err != nil || !p.Empty() || p.Next != events.AfterPos(stored[24].Pos) {
		t.Fatalf("read at the end: %+v, %v; want an empty page that stays put", p, err)
	}
	if p, err := s.Read(ctx(t), events.AfterSeq("nobody", 0), 10); err != nil || !p.Empty() {
		t.Fatalf("read of an unknown bottle: %+v, %v; want an empty page", p, err)
	}
}

func testHeadLatest(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	if h, err := s.Head(ctx(t), ""); err != nil || h != (events.Cursor{}) {
		t.Fatalf("head of an empty store: %v, %v", h, err)
	}
	life := func(b, state string) schemas.Event {
		return Event(t, b, schemas.KindLifecycle, schemas.Lifecycle{State: state, Name: "example"})
	}
	mustAppend(t, s, life("x", schemas.StateStarting), life("y", schemas.StateStarting), Event(t, "x", schemas.KindDenial, 0))
	last := mustAppend(t, s, life("x", schemas.StateRunning), Event(t, "x", schemas.KindDenial, 1))
	got, err := s.Latest(ctx(t), schemas.KindLifecycle)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Bottle != "x" || got[1].Bottle != "y" {
		t.Fatalf("latest lifecycle: %+v, want one for x and one for y", got)
	}
	var l schemas.Lifecycle
	if err := got[0].Decode(&l); err != nil || l.State != schemas.StateRunning || got[0].ID != last[0].ID || got[0].Seq != 3 {
		t.Fatalf("latest of x: %+v (%+v), want the running event with seq 3", got[0], l)
	}
	if h, _ := s.Head(ctx(t), "x"); h != events.AfterSeq("x", 4) {
		t.Errorf("head of x: %v, want after seq 4", h)
	}
	if h, _ := s.Head(ctx(t), ""); h != events.AfterPos(last[1].Pos) {
		t.Errorf("head: %v, want after pos %d", h, last[1].Pos)
	}
}

func testFollowStops(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	mustAppend(t, s, Event(t, "a", schemas.KindDenial, 0))
	stop := errors.New("enough")
	if err := s.Follow(ctx(t), events.Cursor{}, func(events.Page) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("follow returned %v, want fn's error", err)
	}
	c, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	go func() { done <- s.Follow(c, events.AfterPos(1), func(events.Page) error { return nil }) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("follow after cancel returned %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("follow did not return after its context was cancelled")
	}
}

func testRedaction(t *testing.T, s events.Store) {
	closeAtEnd(t, s)
	d := schemas.Denial{Host: "api.example.com", Method: "GET", Path: "/x?access_token=tok_SECRET", Reason: "route_not_allowed"}
	mustAppend(t, s, Event(t, "a", schemas.KindDenial, d))
	all, _ := ReadAll(t, s, events.Cursor{}, 0)
	if strings.Contains(string(all[0].Payload), "tok_SECRET") {
		t.Fatalf("stored denial keeps its query: %s", all[0].Payload)
	}
}
