package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Every filter Query takes is served by an index, in the order Query
// reads: SQLite's plan names an index, never scans the table and never
// sorts. This is what keeps a page cheap at a million events; the
// benchmark (BenchmarkQuery) measures it.
func TestQueryPlansUseAnIndex(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	denial := []schemas.Kind{schemas.KindDenial}
	since := time.Now().Add(-time.Hour)
	before := events.Mark{Time: time.Now(), Pos: 10}
	for _, f := range []events.Filter{
		{Kinds: denial},
		{Kinds: denial, Bottle: "b"},
		{Kinds: denial, Host: "h.example"},
		{Kinds: denial, Bottle: "b", Host: "h.example"},
		{Kinds: denial, Since: since},
		{Kinds: denial, Before: before},
		{Kinds: denial, Bottle: "b", Host: "h.example", Since: since, Before: before},
		{Kinds: denial, Host: "h.example", Since: since, Before: before},
		{Kinds: denial, Bottle: "b", Since: since, Before: before},
	} {
		f, err := f.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		query, args := querySQL(f, schemas.KindDenial)
		rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		t.Logf("bottle %q host %q since %v before %v: %s", f.Bottle, f.Host, !f.Since.IsZero(), !f.Before.IsZero(), got)
		want := "SEARCH events USING INDEX " + queryIndex(f) + " (kind=?"
		if !strings.HasPrefix(got, want) || strings.Contains(got, "TEMP B-TREE") ||
			(!f.Since.IsZero() || !f.Before.IsZero()) && !strings.Contains(got, "time_ns") {
			t.Errorf("filter %+v: plan %q, want %s..., a range of time_ns when it is bounded, and no sort", f, got, want)
		}
	}
}
