package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// BenchmarkQuery measures one page (50 denials) of the listings the
// operator and the agents ask for, in a store of 100k and of 1M denials
// (ten bottles, a thousand hosts), by Query ("index") and, for the same
// listing, by what the readers did before it existed: Read every event
// forward and keep the newest matches ("scan"). Run a size on its own:
//
//	go test ./events/sqlite -run '^$' -bench 'BenchmarkQuery/n=1M' -benchtime 20x
func BenchmarkQuery(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run("n="+size.name, func(b *testing.B) {
			s, t0 := seededStore(b, size.n)
			denial := []schemas.Kind{schemas.KindDenial}
			deep, err := pageMark(s, events.Filter{Kinds: denial, Limit: 50}, 20)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct {
				name string
				f    events.Filter
			}{
				{"newest", events.Filter{Kinds: denial}},
				{"bottle", events.Filter{Kinds: denial, Bottle: "bottle-3"}},
				{"host", events.Filter{Kinds: denial, Host: "h7.example"}},
				{"host-without-hits", events.Filter{Kinds: denial, Host: "nobody.example"}},
				{"rare-host-of-bottle", events.Filter{Kinds: denial, Bottle: "bottle-1", Host: "rare.example"}},
				{"since-an-hour-without-hits", events.Filter{Kinds: denial, Since: t0.Add(time.Duration(size.n)*time.Millisecond + time.Hour)}},
				{"page-21", events.Filter{Kinds: denial, Before: deep}},
			} {
				c.f.Limit = 50
				b.Run(c.name+"/index", func(b *testing.B) {
					for range b.N {
						if _, err := s.Query(context.Background(), c.f); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(c.name+"/scan", func(b *testing.B) {
					for range b.N {
						if err := scanQuery(s, c.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// seededStore is a store of n denials, written in one transaction by SQL
// (an Append of a million events takes many minutes), with a reload event
// every 50th, one denial in 10,000 for rare.example, and times a
// millisecond apart from t0. Query's indexes are built after the rows
// (CREATE INDEX sorts; inserting into five indexes at once thrashes the
// page cache), and the write-ahead log is checkpointed and emptied, as a
// store that grew over time has it.
func seededStore(b *testing.B, n int) (*Store, time.Time) {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), FileName), Options{Retain: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	err = s.write(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DROP INDEX events_by_kind; DROP INDEX events_by_bottle;
			DROP INDEX events_by_host; DROP INDEX events_by_bottle_host`); err != nil {
			return err
		}
		_, err := tx.Exec(`WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ? - 1),
			e(x, bottle, host, kind) AS (SELECT x, 'bottle-' || (x % 10),
				CASE WHEN x % 10000 = 1 THEN 'rare.example' ELSE 'h' || (x % 1000) || '.example' END,
				CASE WHEN x % 50 = 49 THEN 'egress.reload' ELSE 'egress.denial' END FROM c)
			INSERT INTO events (id, bottle, seq, time_ns, kind, host, payload)
			SELECT printf('bench-%09d', x), bottle, x / 10 + 1, ? + x * 1000000, kind,
				CASE WHEN kind = 'egress.denial' THEN host END,
				CAST(CASE WHEN kind = 'egress.denial' THEN json_object('error', 'egress denied', 'denial_id', printf('d%d', x),
					'bottle', bottle, 'host', host, 'method', 'GET', 'path', '/some/package/path', 'reason', 'host_not_allowed',
					'hint', 'ask with request_egress', 'time', '2026-01-01T00:00:00Z')
				ELSE json_object('ok', json('true'), 'source', 'api') END AS BLOB)
			FROM e`, n, t0.UnixNano())
		if err != nil {
			return err
		}
		if _, err = tx.Exec("INSERT INTO bottles (bottle, last_seq) SELECT bottle, MAX(seq) FROM events GROUP BY bottle"); err != nil {
			return err
		}
		_, err = tx.Exec(migrations[1][strings.Index(migrations[1], "CREATE INDEX"):])
		return err
	})
	if err == nil {
		_, err = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d events in %v", n, time.Since(start).Round(time.Millisecond))
	return s, t0
}

// pageMark is the Before of page n+1 of f.
func pageMark(s *Store, f events.Filter, n int) (events.Mark, error) {
	for range n {
		m, err := s.Query(context.Background(), f)
		if err != nil {
			return events.Mark{}, err
		}
		f.Before = m.Next
	}
	return f.Before, nil
}

// scanQuery is how the denial listings read the store before Query: every
// event forward, keeping the newest Limit+1 matches.
func scanQuery(s *Store, f events.Filter) error {
	f, err := f.Normalize()
	if err != nil {
		return err
	}
	ring := make([]schemas.Event, 0, f.Limit+1)
	from := events.AfterPos(0)
	if f.Bottle != "" {
		from = events.AfterSeq(f.Bottle, 0)
	}
	for {
		page, err := s.Read(context.Background(), from, 2000)
		if err != nil {
			return err
		}
		if page.Empty() {
			return nil
		}
		for _, ev := range page.Events {
			if !f.Match(ev) {
				continue
			}
			if len(ring) == f.Limit+1 {
				copy(ring, ring[1:])
				ring = ring[:f.Limit]
			}
			ring = append(ring, ev)
		}
		from = page.Next
	}
}
