package sqlite

import (
	"context"
	"database/sql"
	"fmt"
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
}

// migrate brings the schema to the newest version in one transaction. A
// database newer than this binary is refused rather than guessed at.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case version == len(migrations):
		return nil
	case version > len(migrations):
		return fmt.Errorf("schema version %d is newer than this bot-bottle knows (%d): upgrade bot-bottle", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema version %d: %w", len(migrations), err)
	}
	return nil
}
