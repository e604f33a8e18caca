package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MinFreeSpace is the free space below which a store may stop taking
// events for good. Between checkpoints the write-ahead log grows to about
// 4 MiB (1000 pages), more while a reader holds an old snapshot, and a
// checkpoint then needs as much again in the database file; a disk with
// less room than that fills with the log and never checkpoints it (the
// checkpoint itself needs room), so no write succeeds again while any
// bot-bottle keeps the store open. 64 MiB is that several times over.
const MinFreeSpace = 64 << 20

// registryTables are checked at every open: they are what ps, stop, the
// registry of running bottles and every append (seqs) read, and they are
// small, so their check costs microseconds. The events table and its
// indexes hold nearly every page; their check is a full one (Check).
var registryTables = []string{"bottles", "latest", "sqlite_sequence"}

// checkRegistry runs quick_check on the registry tables, and refuses a
// store whose pages there are damaged with ErrCorrupt.
func (s *Store) checkRegistry(ctx context.Context) error {
	for _, table := range registryTables {
		problems, err := s.quickCheck(ctx, "PRAGMA quick_check("+table+")")
		if err != nil {
			return classify(s.path, "check event store", fmt.Errorf("table %s: %w", table, err))
		}
		if len(problems) > 0 {
			return fmt.Errorf("check event store %s: %w: table %s: %s", s.path, ErrCorrupt, table, strings.Join(problems[:min(len(problems), 3)], "; "))
		}
	}
	return nil
}

// Check reads every page of the store and returns what is damaged (none
// when it is sound): PRAGMA quick_check, or integrity_check when full
// (which also compares every index with its table). It takes about 3 s
// per million events (quick) on a small machine; bot-bottle doctor runs
// it.
func (s *Store) Check(ctx context.Context, full bool) ([]string, error) {
	pragma := "PRAGMA quick_check(100)"
	if full {
		pragma = "PRAGMA integrity_check(100)"
	}
	problems, err := s.quickCheck(ctx, pragma)
	if err != nil {
		return nil, classify(s.path, "check event store", err)
	}
	return problems, nil
}

// quickCheck runs a check pragma and returns its lines but "ok". A page
// too damaged to be read at all is a problem too, not an error.
func (s *Store) quickCheck(ctx context.Context, pragma string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, pragma)
	if err != nil {
		if isCorrupt(err) {
			return []string{err.Error()}, nil
		}
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		for _, l := range strings.Split(line, "\n") {
			if l != "ok" && l != "*** in database main ***" && strings.TrimSpace(l) != "" {
				problems = append(problems, l)
			}
		}
	}
	if err := rows.Err(); err != nil {
		if isCorrupt(err) {
			return append(problems, err.Error()), nil
		}
		return nil, err
	}
	return problems, nil
}

// FreeSpace returns the bytes an unprivileged process may still write on
// the filesystem that holds path (or its folder, when path does not exist
// yet).
func FreeSpace(path string) (uint64, error) {
	var st unix.Statfs_t
	err := unix.Statfs(path, &st)
	if err != nil {
		err = unix.Statfs(filepath.Dir(path), &st)
	}
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// MiB prints a size for a person.
func MiB(n uint64) string {
	if n < 10<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
