package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Query returns a page of the events that match f, newest first; see
// events.Store. Each kind is one SELECT on the index of migration 2 that
// fits the filter (kind, then bottle and/or host, then time), named with
// INDEXED BY so that SQLite, which has no statistics to choose by, cannot
// pick one that fits less; it walks only the matching entries, in order,
// and stops after f.Limit+1 (the one more says whether an older page
// exists). Several kinds are merged here.
func (s *Store) Query(ctx context.Context, f events.Filter) (events.Matches, error) {
	if s.closed() {
		return events.Matches{}, events.ErrClosed
	}
	f, err := f.Normalize()
	if err != nil {
		return events.Matches{}, fmt.Errorf("query event store %s: %w", s.path, err)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for every kind
	if err != nil {
		return events.Matches{}, s.queryErr(ctx, err)
	}
	defer tx.Rollback()
	var evs []schemas.Event
	for _, kind := range f.Kinds {
		query, args := querySQL(f, kind)
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return events.Matches{}, s.queryErr(ctx, err)
		}
		got, err := scanEvents(rows)
		if err != nil {
			return events.Matches{}, s.queryErr(ctx, err)
		}
		evs = append(evs, got...)
	}
	if len(f.Kinds) > 1 {
		slices.SortFunc(evs, func(a, b schemas.Event) int {
			if c := b.Time.Compare(a.Time); c != 0 {
				return c
			}
			return cmp.Compare(b.Pos, a.Pos)
		})
	}
	var m events.Matches
	if len(evs) > f.Limit {
		evs = evs[:f.Limit]
		m.Next = events.MarkOf(evs[f.Limit-1])
	}
	m.Events = evs
	return m, nil
}

// queryIndex is the index that serves f: the one whose leading columns
// are all fixed by f, the most of them.
func queryIndex(f events.Filter) string {
	switch {
	case f.Bottle != "" && f.Host != "":
		return "events_by_bottle_host"
	case f.Host != "":
		return "events_by_host"
	case f.Bottle != "":
		return "events_by_bottle"
	}
	return "events_by_kind"
}

// querySQL builds the statement for one kind of a normalised filter.
func querySQL(f events.Filter, kind schemas.Kind) (string, []any) {
	where := []string{"kind = ?"}
	args := []any{string(kind)}
	if f.Bottle != "" {
		where = append(where, "bottle = ?")
		args = append(args, f.Bottle)
	}
	if f.Host != "" {
		where = append(where, "host = ?")
		args = append(args, f.Host)
	}
	if !f.Since.IsZero() {
		where = append(where, "time_ns >= ?")
		args = append(args, f.Since.UnixNano())
	}
	if !f.Before.IsZero() {
		// (time_ns, pos) < (t, p), said so that time_ns bounds the index
		// range and only the events of that very nanosecond are compared
		// by pos.
		t := f.Before.Time.UnixNano()
		where = append(where, "time_ns <= ? AND (time_ns < ? OR pos < ?)")
		args = append(args, t, t, int64(f.Before.Pos))
	}
	args = append(args, f.Limit+1)
	return "SELECT " + eventColumns + " FROM events INDEXED BY " + queryIndex(f) +
		" WHERE " + strings.Join(where, " AND ") + " ORDER BY time_ns DESC, pos DESC LIMIT ?", args
}

func (s *Store) queryErr(ctx context.Context, err error) error {
	if s.closed() {
		return events.ErrClosed
	}
	if ctx.Err() != nil {
		return fmt.Errorf("query event store %s: %w", s.path, ctx.Err())
	}
	return classify(s.path, "query event store", err)
}
