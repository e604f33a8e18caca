package sqlite

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrLocked means another process holds the database file in a way that
// keeps this one out for longer than the busy timeout: an exclusive lock, or
// a write transaction that does not end.
var ErrLocked = errors.New("database is locked by another process")

// ErrCorrupt means the file is not a SQLite database, or its pages are
// damaged. The store never overwrites such a file: move it aside.
var ErrCorrupt = errors.New("not a usable SQLite database (corrupt, or not a database)")

// classify wraps err with ErrLocked or ErrCorrupt when SQLite said so, and
// names the file.
func classify(path, op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%s %s: %w (%w)", op, path, ErrLocked, err)
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("%s %s: %w (%w)", op, path, ErrCorrupt, err)
		}
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}
