package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// bottleState is a bottle's row of the bottles table, as one transaction
// sees and advances it.
type bottleState struct {
	last, pruned uint64
	before       uint64 // last as the transaction found it
}

// Append stores evs in one transaction; see events.Store.
func (s *Store) Append(ctx context.Context, evs []schemas.Event) ([]schemas.Event, error) {
	if s.closed() {
		return nil, events.ErrClosed
	}
	if len(evs) == 0 {
		return nil, nil
	}
	batch := make([]schemas.Event, len(evs))
	for i, ev := range evs {
		p, err := events.Prepare(ev)
		if err != nil {
			return nil, fmt.Errorf("append to event store %s: event %d: %w", s.path, i, err)
		}
		batch[i] = p
	}
	stored, bottles, err := s.appendTx(ctx, batch)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("append to event store %s: %w", s.path, ctx.Err())
		}
		return nil, classify(s.path, "append to event store", err)
	}
	s.metrics.Stored.Add(float64(len(stored)))
	s.metrics.Duplicates.Add(float64(len(batch) - len(stored)))
	if len(stored) > 0 {
		s.local.Ring()
		s.door.Ring()
	}
	if s.opts.Retain > 0 {
		for _, b := range bottles {
			if b.last-b.pruned > uint64(s.opts.Retain+slack(s.opts.Retain)) {
				s.kickPrune()
				break
			}
		}
	}
	return stored, nil
}

func (s *Store) appendTx(ctx context.Context, batch []schemas.Event) ([]schemas.Event, map[string]*bottleState, error) {
	var stored []schemas.Event
	var bottles map[string]*bottleState
	err := s.writeThen(ctx, func(tx *sql.Tx) error {
		var err error
		stored, bottles, err = appendIn(ctx, tx, batch)
		return err
	}, func() {
		// Before the ring, in the writers' turn: which bottles it is for.
		var changed []string
		for name, b := range bottles {
			if b.last != b.before {
				changed = append(changed, name)
			}
		}
		s.door.publish(changed)
	})
	if err != nil {
		return nil, nil, err
	}
	return stored, bottles, nil
}

// appendIn inserts batch in tx and keeps the bottles and latest tables.
func appendIn(ctx context.Context, tx *sql.Tx, batch []schemas.Event) ([]schemas.Event, map[string]*bottleState, error) {
	insert, err := tx.PrepareContext(ctx, `INSERT INTO events (id, bottle, seq, time_ns, kind, payload, host)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING pos`)
	if err != nil {
		return nil, nil, err
	}
	defer insert.Close()
	bottles := map[string]*bottleState{}
	type latestKey struct{ kind, bottle string }
	latest := map[latestKey]int{} // index into stored of the newest of each kind and bottle
	stored := make([]schemas.Event, 0, len(batch))
	for _, ev := range batch {
		b := bottles[ev.Bottle]
		if b == nil {
			b = &bottleState{}
			err := tx.QueryRowContext(ctx, "SELECT last_seq, pruned_seq FROM bottles WHERE bottle = ?", ev.Bottle).Scan(&b.last, &b.pruned)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, nil, fmt.Errorf("read bottle %q: %w", ev.Bottle, err)
			}
			b.before = b.last
			bottles[ev.Bottle] = b
		}
		ev.Seq = b.last + 1
		var host any // NULL: kept out of the partial host indexes
		if h := events.HostOf(ev); h != "" {
			host = h
		}
		err := insert.QueryRowContext(ctx, ev.ID, ev.Bottle, int64(ev.Seq), ev.Time.UnixNano(), string(ev.Kind), []byte(ev.Payload), host).Scan(&ev.Pos)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the id is stored already: idempotent
		}
		if err != nil {
			return nil, nil, fmt.Errorf("insert event %s: %w", ev.ID, err)
		}
		b.last = ev.Seq
		latest[latestKey{string(ev.Kind), ev.Bottle}] = len(stored)
		stored = append(stored, ev)
	}
	for name, b := range bottles {
		if b.last == b.before {
			continue // only duplicates
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bottles (bottle, last_seq) VALUES (?, ?)
			ON CONFLICT (bottle) DO UPDATE SET last_seq = excluded.last_seq`, name, int64(b.last)); err != nil {
			return nil, nil, fmt.Errorf("update bottle %q: %w", name, err)
		}
	}
	for _, i := range latest {
		ev := stored[i]
		if _, err := tx.ExecContext(ctx, `INSERT INTO latest (kind, bottle, pos, id, seq, time_ns, payload)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, bottle) DO UPDATE SET pos = excluded.pos, id = excluded.id,
				seq = excluded.seq, time_ns = excluded.time_ns, payload = excluded.payload`,
			string(ev.Kind), ev.Bottle, int64(ev.Pos), ev.ID, int64(ev.Seq), ev.Time.UnixNano(), []byte(ev.Payload)); err != nil {
			return nil, nil, fmt.Errorf("update latest %s of bottle %q: %w", ev.Kind, ev.Bottle, err)
		}
	}
	return stored, bottles, nil
}
