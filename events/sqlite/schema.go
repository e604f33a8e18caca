package sqlite

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"os"

	driver "modernc.org/sqlite"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// migrations are the schema, one step per version: migrations[i] takes a
// database from user_version i to i+1. Append only; never edit a step that
// has shipped.
var migrations = []string{
	// 1: the event log, per-bottle counters and the latest-of-kind projection.
	`CREATE TABLE events (
		pos     INTEGER PRIMARY KEY AUTOINCREMENT, -- global position; never reused
		id      TEXT    NOT NULL UNIQUE,           -- duplicate appends are skipped
		bottle  TEXT    NOT NULL,
		seq     INTEGER NOT NULL,
		time_ns INTEGER NOT NULL,
		kind    TEXT    NOT NULL,
		payload BLOB    NOT NULL,
		UNIQUE (bottle, seq)
	);
	CREATE TABLE bottles (
		bottle     TEXT PRIMARY KEY,
		last_seq   INTEGER NOT NULL,           -- the seq of its newest event
		pruned_seq INTEGER NOT NULL DEFAULT 0, -- every seq up to this one was removed by retention
		pruned_pos INTEGER NOT NULL DEFAULT 0  -- the largest pos removed by retention
	) WITHOUT ROWID;
	CREATE TABLE latest (
		kind    TEXT    NOT NULL,
		bottle  TEXT    NOT NULL,
		pos     INTEGER NOT NULL,
		id      TEXT    NOT NULL,
		seq     INTEGER NOT NULL,
		time_ns INTEGER NOT NULL,
		payload BLOB    NOT NULL,
		PRIMARY KEY (kind, bottle)
	) WITHOUT ROWID;`,
	// 2: Query's indexes. host is events.HostOf (denials and proposals;
	// NULL for the rest), filled in for the events stored before. Each
	// index ends in time_ns and, implicitly, pos (the rowid): the order
	// Query reads in, newest first. The host indexes are partial, so the
	// events that have no host cost them nothing.
	`ALTER TABLE events ADD COLUMN host TEXT;
	UPDATE events SET host = bot_bottle_event_host(kind, payload) WHERE kind IN ('egress.denial', 'review.proposal');
	CREATE INDEX events_by_kind ON events (kind, time_ns);
	CREATE INDEX events_by_bottle ON events (kind, bottle, time_ns);
	CREATE INDEX events_by_host ON events (kind, host, time_ns) WHERE host IS NOT NULL;
	CREATE INDEX events_by_bottle_host ON events (kind, bottle, host, time_ns) WHERE host IS NOT NULL;`,
}

// The migrations call events.HostOf as bot_bottle_event_host(kind,
// payload), so that the host of an event stored before the host column
// existed is the one Append would give it. A function registered with the
// driver is there on every connection it opens.
func init() {
	driver.MustRegisterDeterministicScalarFunction("bot_bottle_event_host", 2, func(_ *driver.FunctionContext, args []sqldriver.Value) (sqldriver.Value, error) {
		kind, _ := args[0].(string)
		var payload []byte
		switch p := args[1].(type) {
		case []byte:
			payload = p
		case string:
			payload = []byte(p)
		}
		if h := events.HostOf(schemas.Event{Kind: schemas.Kind(kind), Payload: payload}); h != "" {
			return h, nil
		}
		return nil, nil
	})
}

// migrate brings the schema to the newest version in one transaction. A
// database newer than this binary is refused rather than guessed at. The
// version is read first outside a write transaction, so opening a store
// that is up to date (nearly every open) writes nothing and waits for no
// writer. On a new file the first connection is made in the writers'
// queue, since it is the one that switches the file to WAL.
func (s *Store) migrate(ctx context.Context) error {
	fi, err := os.Stat(s.path)
	fresh := err != nil || fi.Size() == 0
	version, err := s.schemaVersion(ctx, fresh)
	if err != nil {
		return err
	}
	if version > len(migrations) {
		return newerSchema(version)
	}
	if version > 0 {
		// Before anything is written: a damaged store is refused as it is.
		if err := s.checkRegistry(ctx); err != nil {
			return err
		}
	}
	if version == len(migrations) {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		switch {
		case version == len(migrations):
			return nil // another process migrated it meanwhile
		case version > len(migrations):
			return newerSchema(version)
		}
		for v := version; v < len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return fmt.Errorf("set schema version: %w", err)
		}
		return nil
	})
}

// schemaVersion reads user_version on the write connection, waiting in the
// writers' queue when queued.
func (s *Store) schemaVersion(ctx context.Context, queued bool) (int, error) {
	if queued {
		unlock, err := s.q.lock(ctx, s.opts.BusyTimeout)
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	var version int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}

func newerSchema(version int) error {
	return fmt.Errorf("schema version %d is newer than this bot-bottle knows (%d): upgrade bot-bottle", version, len(migrations))
}
