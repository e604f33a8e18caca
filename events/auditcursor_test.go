package events_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// followFrom records where each Follow of the store starts.
type followFrom struct {
	events.Store
	mu    sync.Mutex
	froms []uint64
}

func (s *followFrom) Follow(ctx context.Context, from events.Cursor, fn func(events.Page) error) error {
	s.mu.Lock()
	s.froms = append(s.froms, from.After)
	s.mu.Unlock()
	return s.Store.Follow(ctx, from, fn)
}

// A writer that takes over resumes after what the last writer read, even
// when none of it was of an audit kind (every launch runs a writer for a
// moment; before, each read the whole store again); a log moved aside
// starts again from its own last line, so it gets every line again.
func TestAuditResumesAfterWhatWasRead(t *testing.T) {
	s := openStore(t, sqlite.Options{})
	var batch []schemas.Event
	for i := range 50 {
		batch = append(batch, denial(t, "a", i))
	}
	stored, err := s.Append(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	latest := stored[len(stored)-1].Pos
	dir := filepath.Join(t.TempDir(), "audit")
	fs := &followFrom{Store: s}
	run := func(caughtUp func() bool) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- events.RunAudit(ctx, fs, events.AuditOptions{Dir: dir, Logger: quietLogger()}) }()
		waitFor(t, "the audit writer to read the store", caughtUp)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("audit: %v", err)
		}
	}
	cursorAt := func(pos uint64) func() bool {
		return func() bool {
			data, _ := os.ReadFile(filepath.Join(dir, "audit.lock"))
			return len(data) > 0 && string(data[len(data)-len(itoa(pos))-1:]) == itoa(pos)+"\n"
		}
	}
	run(cursorAt(latest))
	run(func() bool { fs.mu.Lock(); defer fs.mu.Unlock(); return len(fs.froms) == 2 })
	if fs.froms[0] != 0 || fs.froms[1] != latest {
		t.Fatalf("writers followed from %v, want [0 %d]", fs.froms, latest)
	}
	if lines := auditLines(t, dir); len(lines) != 0 {
		t.Fatalf("denials in the audit log: %d lines", len(lines))
	}

	// An audit event, then the log moved aside: the new log has it.
	if _, err := s.Append(context.Background(), []schemas.Event{auditable(t, "a", 0)}); err != nil {
		t.Fatal(err)
	}
	run(func() bool { return len(auditLines(t, dir)) == 1 })
	if err := os.Rename(filepath.Join(dir, events.AuditFile), filepath.Join(dir, "old.jsonl")); err != nil {
		t.Fatal(err)
	}
	run(func() bool { return len(auditLines(t, dir)) == 1 })
	if last := fs.froms[len(fs.froms)-1]; last != 0 {
		t.Fatalf("a new log resumed from %d, want 0 (its own last line)", last)
	}

	// A log removed and made again may get the freed inode back: the
	// cursor, written for the longer log, must not make the new one skip
	// what the store still holds. Each cursor names the new log's inode,
	// as a reused inode would.
	logPath := filepath.Join(dir, events.AuditFile)
	for _, forged := range []func(ino uint64) string{
		func(ino uint64) string { return "ino " + itoa(ino) + " pos " + itoa(latest+1) + "\n" },           // as an older writer wrote it
		func(ino uint64) string { return "ino " + itoa(ino) + " size 4096 pos " + itoa(latest+1) + "\n" }, // for a longer log
	} {
		if err := os.Remove(logPath); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(logPath, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(logPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "audit.lock"), []byte(forged(fi.Sys().(*syscall.Stat_t).Ino)), 0o600); err != nil {
			t.Fatal(err)
		}
		run(func() bool { return len(auditLines(t, dir)) == 1 })
	}
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
