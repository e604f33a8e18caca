package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// pruneBatch is how many events one retention transaction deletes: small
// enough that a writer waiting behind it waits a few milliseconds.
const pruneBatch = 500

// slack is how far past Retain a bottle may grow before pruning starts, so
// retention runs in batches rather than once per append.
func slack(retain int) int { return max(retain/10, 1) }

func (s *Store) kickPrune() {
	select {
	case s.prune <- struct{}{}:
	default:
	}
}

// pruneLoop runs retention when Append finds a bottle past its bound.
func (s *Store) pruneLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closing
		cancel()
	}()
	for {
		select {
		case <-s.prune:
			if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("event store: retention failed; will retry after the next append", "error", err)
			}
		case <-s.closing:
			return
		}
	}
}

// Prune removes each bottle's events beyond the newest Retain, a few hundred
// per transaction, and returns how many it removed. Several processes may
// prune at once: each transaction rereads how far its bottle was pruned.
func (s *Store) Prune(ctx context.Context) (int, error) {
	if s.opts.Retain < 0 {
		return 0, nil
	}
	retain := uint64(s.opts.Retain)
	rows, err := s.r.QueryContext(ctx, "SELECT bottle FROM bottles WHERE last_seq - pruned_seq > ?", int64(retain))
	if err != nil {
		return 0, classify(s.path, "prune event store", err)
	}
	var bottles []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return 0, classify(s.path, "prune event store", err)
		}
		bottles = append(bottles, b)
	}
	rows.Close()
	total := 0
	for _, b := range bottles {
		for {
			n, done, err := s.pruneStep(ctx, b, retain)
			if err != nil {
				return total, classify(s.path, "prune event store", fmt.Errorf("bottle %q: %w", b, err))
			}
			total += n
			s.metrics.Pruned.Add(float64(n))
			if done {
				break
			}
			select { // let waiting writers in between batches
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
				return total, ctx.Err()
			}
		}
	}
	return total, nil
}

// pruneStep deletes up to pruneBatch of bottle's oldest events beyond
// retain, in one transaction, and returns how many and whether the bottle
// is within its bound now.
func (s *Store) pruneStep(ctx context.Context, bottle string, retain uint64) (n int, done bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		n, done, err = pruneIn(ctx, tx, bottle, retain)
		return err
	})
	return n, done, err
}

func pruneIn(ctx context.Context, tx *sql.Tx, bottle string, retain uint64) (int, bool, error) {
	var last, pruned, prunedPos uint64
	if err := tx.QueryRowContext(ctx, "SELECT last_seq, pruned_seq, pruned_pos FROM bottles WHERE bottle = ?", bottle).
		Scan(&last, &pruned, &prunedPos); err != nil {
		return 0, false, err
	}
	if last <= pruned+retain {
		return 0, true, nil
	}
	upTo := min(last-retain, pruned+pruneBatch)
	var maxPos sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(pos) FROM events WHERE bottle = ? AND seq > ? AND seq <= ?",
		bottle, int64(pruned), int64(upTo)).Scan(&maxPos); err != nil {
		return 0, false, err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM events WHERE bottle = ? AND seq > ? AND seq <= ?", bottle, int64(pruned), int64(upTo))
	if err != nil {
		return 0, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE bottles SET pruned_seq = ?, pruned_pos = ? WHERE bottle = ?",
		int64(upTo), max(int64(prunedPos), maxPos.Int64), bottle); err != nil {
		return 0, false, err
	}
	return int(n), upTo == last-retain, nil
}
