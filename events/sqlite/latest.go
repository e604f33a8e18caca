package sqlite

import (
	"context"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Head returns the cursor after the newest event; see events.Store.
func (s *Store) Head(ctx context.Context, bottle string) (events.Cursor, error) {
	if s.closed() {
		return events.Cursor{}, events.ErrClosed
	}
	var after uint64
	var err error
	if bottle != "" {
		err = s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(last_seq), 0) FROM bottles WHERE bottle = ?", bottle).Scan(&after)
	} else {
		// sqlite_sequence holds the largest pos ever given, even when
		// retention has deleted that row since.
		err = s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'events'").Scan(&after)
	}
	if err != nil {
		return events.Cursor{}, s.readErr(ctx, events.Cursor{Bottle: bottle}, err)
	}
	return events.Cursor{Bottle: bottle, After: after}, nil
}

// Latest returns the newest event of kind for each bottle, from the latest
// table the append transaction keeps; see events.Store.
func (s *Store) Latest(ctx context.Context, kind schemas.Kind) ([]schemas.Event, error) {
	if s.closed() {
		return nil, events.ErrClosed
	}
	rows, err := s.r.QueryContext(ctx, "SELECT pos, id, bottle, seq, time_ns, payload FROM latest WHERE kind = ? ORDER BY bottle", string(kind))
	if err != nil {
		return nil, s.readErr(ctx, events.Cursor{}, err)
	}
	defer rows.Close()
	var out []schemas.Event
	for rows.Next() {
		ev := schemas.Event{Kind: kind}
		var ns int64
		var payload []byte
		if err := rows.Scan(&ev.Pos, &ev.ID, &ev.Bottle, &ev.Seq, &ns, &payload); err != nil {
			return nil, s.readErr(ctx, events.Cursor{}, err)
		}
		ev.Time = time.Unix(0, ns).UTC()
		ev.Payload = payload
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(ctx, events.Cursor{}, err)
	}
	return out, nil
}
