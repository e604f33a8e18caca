package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strings"

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

// ErrFull means the disk that holds the store has no room for what was
// written (SQLITE_FULL). Nothing of the failed operation was stored.
var ErrFull = errors.New("the disk holding the event store is full")

// classify wraps err with ErrLocked, ErrCorrupt or ErrFull when SQLite said
// so, and names the file.
func classify(path, op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%s %s: %w (%w)", op, path, ErrLocked, err)
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("%s %s: %w (%w)", op, path, ErrCorrupt, err)
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
			// SQLite says FULL when a write ran out of room, and a bare
			// I/O error when growing the shared-memory file or the log
			// did; with the disk at its end, both are a full disk.
			n, ferr := FreeSpace(path)
			if se.Code()&0xff == sqlite3.SQLITE_FULL || ferr == nil && n < 1<<20 {
				free := ""
				if ferr == nil {
					free = fmt.Sprintf(", %s free", MiB(n))
				}
				return fmt.Errorf("%s %s: %w%s (%w)", op, path, ErrFull, free, err)
			}
		}
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

// MoveAside is the advice for a store that cannot be used: the shell
// commands that move it (and its write-ahead log, which belongs to it and
// would be replayed into a new file of the same name) out of the way, so
// that the next bot-bottle starts a new store. Every bot-bottle process of
// the home must have ended first.
func MoveAside(path string) string {
	cmds := []string{"mv " + path + " " + path + ".broken"}
	if _, err := os.Stat(path + "-wal"); err == nil {
		cmds = append(cmds, "mv "+path+"-wal "+path+".broken-wal")
	}
	if _, err := os.Stat(path + "-shm"); err == nil {
		cmds = append(cmds, "rm "+path+"-shm")
	}
	return "move it aside: " + strings.Join(cmds, "; ") +
		" (with every bot-bottle of this home stopped); the next bot-bottle starts a new store"
}

// isCorrupt reports whether SQLite said that a page is damaged.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return true
		}
	}
	return false
}
