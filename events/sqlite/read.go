package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// MaxPage bounds Read's limit, so one call cannot pull the whole store into
// memory.
const MaxPage = 10_000

const eventColumns = "pos, id, bottle, seq, time_ns, kind, payload"

// Read returns the page after from; see events.Store. The gaps and the
// events come from one read transaction, so they agree with each other.
func (s *Store) Read(ctx context.Context, from events.Cursor, limit int) (events.Page, error) {
	if s.closed() {
		return events.Page{}, events.ErrClosed
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return events.Page{}, s.readErr(ctx, from, err)
	}
	defer tx.Rollback()
	var page events.Page
	if from.Bottle != "" {
		page, err = readBottle(ctx, tx, from, limit)
	} else {
		page, err = readAll(ctx, tx, from, limit)
	}
	if err != nil {
		return events.Page{}, s.readErr(ctx, from, err)
	}
	return page, nil
}

func (s *Store) readErr(ctx context.Context, from events.Cursor, err error) error {
	if s.closed() {
		return events.ErrClosed
	}
	if ctx.Err() != nil {
		return fmt.Errorf("read event store %s from %s: %w", s.path, from, ctx.Err())
	}
	return classify(s.path, "read event store", fmt.Errorf("from %s: %w", from, err))
}

// readBottle reads one bottle by seq. Retention removes a bottle's oldest
// events, so what is left is contiguous: a cursor before pruned_seq has
// missed exactly the range after it up to pruned_seq.
func readBottle(ctx context.Context, tx *sql.Tx, from events.Cursor, limit int) (events.Page, error) {
	page := events.Page{Next: from}
	var pruned uint64
	err := tx.QueryRowContext(ctx, "SELECT pruned_seq FROM bottles WHERE bottle = ?", from.Bottle).Scan(&pruned)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return page, err
	}
	after := from.After
	if after < pruned {
		page.Gaps = []events.Gap{{Bottle: from.Bottle, First: after + 1, Last: pruned}}
		after = pruned
		page.Next.After = pruned
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+eventColumns+" FROM events WHERE bottle = ? AND seq > ? ORDER BY seq LIMIT ?",
		from.Bottle, int64(after), limit)
	if err != nil {
		return page, err
	}
	if page.Events, err = scanEvents(rows); err != nil {
		return page, err
	}
	if n := len(page.Events); n > 0 {
		page.Next.After = page.Events[n-1].Seq
	}
	return page, nil
}

// readAll reads every bottle by pos. A bottle pruned past the cursor has
// lost events the reader never saw; each such gap is reported once, in the
// page whose range of positions holds the last pruned event, so paging
// through never repeats it.
func readAll(ctx context.Context, tx *sql.Tx, from events.Cursor, limit int) (events.Page, error) {
	page := events.Page{Next: from}
	rows, err := tx.QueryContext(ctx, "SELECT "+eventColumns+" FROM events WHERE pos > ? ORDER BY pos LIMIT ?", int64(from.After), limit)
	if err != nil {
		return page, err
	}
	if page.Events, err = scanEvents(rows); err != nil {
		return page, err
	}
	// The page covers positions (from.After, upTo]; the last page covers
	// everything after from.After.
	upTo := uint64(1<<63 - 1)
	if n := len(page.Events); n > 0 {
		page.Next.After = page.Events[n-1].Pos
		if n == limit {
			upTo = page.Next.After
		}
	}
	gaps, err := tx.QueryContext(ctx, "SELECT bottle, pruned_seq, pruned_pos FROM bottles WHERE pruned_pos > ? AND pruned_pos <= ? ORDER BY pruned_pos",
		int64(from.After), int64(upTo))
	if err != nil {
		return page, err
	}
	defer gaps.Close()
	for gaps.Next() {
		var g events.Gap
		var pos uint64
		if err := gaps.Scan(&g.Bottle, &g.Last, &pos); err != nil {
			return page, err
		}
		page.Gaps = append(page.Gaps, g)
		page.Next.After = max(page.Next.After, pos)
	}
	return page, gaps.Err()
}

func scanEvents(rows *sql.Rows) ([]schemas.Event, error) {
	defer rows.Close()
	var out []schemas.Event
	for rows.Next() {
		var ev schemas.Event
		var ns int64
		var payload []byte
		if err := rows.Scan(&ev.Pos, &ev.ID, &ev.Bottle, &ev.Seq, &ns, &ev.Kind, &payload); err != nil {
			return nil, err
		}
		ev.Time = time.Unix(0, ns).UTC()
		ev.Payload = payload
		out = append(out, ev)
	}
	return out, rows.Err()
}
