package mcp

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// denialStore is a real SQLite store holding n denials, alternating two
// bottles and three hosts, one second apart from start, with other events
// between them.
func denialStore(t *testing.T, n int, start time.Time) events.Store {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var evs []schemas.Event
	for i := range n {
		bottle := []string{"a-aaaaaa", "b-bbbbbb"}[i%2]
		d := schemas.Denial{ID: fmt.Sprintf("d-%03d", i), Bottle: bottle, Host: []string{"x.example.com", "y.example.com", "z.example.com"}[i%3],
			Method: "GET", Path: fmt.Sprintf("/%d", i), Reason: "host_not_allowed", Time: start.Add(time.Duration(i) * time.Second)}
		ev, err := schemas.NewEvent(bottle, schemas.KindDenial, d)
		if err != nil {
			t.Fatal(err)
		}
		ev.Time = d.Time
		other, _ := schemas.NewEvent(bottle, schemas.KindReload, schemas.Reload{OK: true, Source: "api"})
		evs = append(evs, ev, other)
	}
	if _, err := store.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return store
}

// pages follows next cursors to the end and returns the denial ids in
// the order they came.
func pages(t *testing.T, store events.Store, q denialQuery) []string {
	t.Helper()
	var ids []string
	for range 100 {
		p, err := queryDenials(context.Background(), store, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Denials) > q.Limit {
			t.Fatalf("page of %d, limit %d", len(p.Denials), q.Limit)
		}
		for _, d := range p.Denials {
			ids = append(ids, d.ID)
		}
		if p.Next == "" {
			return ids
		}
		if q.Before, err = decodeCursor(p.Next); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the cursor never ends")
	return nil
}

func TestDenialPagesAreNewestFirstAndComplete(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := denialStore(t, 47, start)
	for _, limit := range []int{1, 5, 46, 47, 48, 500} {
		ids := pages(t, store, denialQuery{Limit: limit})
		if len(ids) != 47 || ids[0] != "d-046" || ids[46] != "d-000" {
			t.Fatalf("limit %d: %d ids, first %s", limit, len(ids), ids[0])
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] >= ids[i-1] {
				t.Fatalf("limit %d: not newest first at %d: %v", limit, i, ids[i-1:i+1])
			}
		}
	}
	// Filters, alone and together, page the same way.
	a := pages(t, store, denialQuery{Bottle: "a-aaaaaa", Limit: 4})
	if len(a) != 24 || a[0] != "d-046" {
		t.Fatalf("bottle a: %v", a)
	}
	x := pages(t, store, denialQuery{Host: "x.example.com", Limit: 3})
	if len(x) != 16 || x[0] != "d-045" {
		t.Fatalf("host x: %v", x)
	}
	ax := pages(t, store, denialQuery{Bottle: "a-aaaaaa", Host: "x.example.com", Limit: 2})
	if strings.Join(ax, ",") != "d-042,d-036,d-030,d-024,d-018,d-012,d-006,d-000" {
		t.Fatalf("bottle a, host x: %v", ax)
	}
	recent := pages(t, store, denialQuery{Since: start.Add(40 * time.Second), Limit: 3})
	if len(recent) != 7 || recent[6] != "d-040" {
		t.Fatalf("since: %v", recent)
	}
	if none := pages(t, store, denialQuery{Bottle: "c-cccccc", Limit: 3}); len(none) != 0 {
		t.Fatalf("unknown bottle: %v", none)
	}
}

func TestSinceAndCursorParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if got, err := parseSince("15m", now); err != nil || !got.Equal(now.Add(-15*time.Minute)) {
		t.Errorf("15m: %v %v", got, err)
	}
	if got, err := parseSince("2026-01-01T10:00:00Z", now); err != nil || got.Hour() != 10 {
		t.Errorf("rfc3339: %v %v", got, err)
	}
	for _, bad := range []string{"yesterday", "-5m", "0s", "2026-01-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("since %q accepted", bad)
		}
	}
	for _, m := range []events.Mark{{Time: now, Pos: 1}, {Time: now.Add(time.Nanosecond), Pos: 42}, {Time: time.Unix(0, 1).UTC(), Pos: ^uint64(0)}} {
		if got, err := decodeCursor(encodeCursor(m)); err != nil || got != m {
			t.Errorf("cursor %+v: %+v %v", m, got, err)
		}
	}
	old := "d1.NDI" // a cursor of the last version: a position only
	for _, bad := range []string{"", "d2.", "d1." + encodeCursor(events.Mark{Time: now, Pos: 5})[3:], "d2.!!", old,
		encodeCursor(events.Mark{Time: now}), encodeCursor(events.Mark{Pos: 3}), "d2.MDA3"} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

// FuzzDecodeCursor: any string either decodes to a position that encodes
// back to the same cursor, or is refused; never a panic.
func FuzzDecodeCursor(f *testing.F) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{encodeCursor(events.Mark{Time: now, Pos: 1}), encodeCursor(events.Mark{Time: now, Pos: 123456}), "d2.", "d2.MA", "d2.LTE", "d1.NDI", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := decodeCursor(s)
		if err != nil {
			return
		}
		if m.Pos == 0 || m.Time.UnixNano() <= 0 || encodeCursor(m) != s {
			t.Fatalf("%q decoded to %+v, which encodes as %q", s, m, encodeCursor(m))
		}
	})
}
