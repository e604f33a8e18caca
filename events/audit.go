package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// AuditFile is the audit log's name in its folder ($BOT_BOTTLE_HOME/audit).
const AuditFile = "audit.jsonl"

// AuditKinds are the kinds the audit log records by default: what an
// operator decided, what was applied, every routes reload, every end of a
// time-limited approval, and every push through a git gate.
var AuditKinds = []schemas.Kind{schemas.KindDecision, schemas.KindApplied, schemas.KindReload, schemas.KindRouteExpired, schemas.KindGitPush}

// KindAuditGap marks an audit line that says events were removed by
// retention before the audit log could record them.
const KindAuditGap schemas.Kind = "audit.gap"

// AuditOptions configure RunAudit.
type AuditOptions struct {
	Dir   string         // the audit folder, created 0700
	Kinds []schemas.Kind // the kinds to record (default AuditKinds)
	// RetryLock is how often a process that is not the writer checks
	// whether the writer has gone (default 1s).
	RetryLock time.Duration
	Logger    *slog.Logger // default slog.Default()
}

// auditGap is the line written for a retention gap.
type auditGap struct {
	Time time.Time    `json:"time"`
	Kind schemas.Kind `json:"kind"`
	Pos  uint64       `json:"pos"`
	Gap
}

// RunAudit writes the audit log: one JSON line per event of the chosen
// kinds, the event exactly as stored (id, bottle, seq, pos, time, kind,
// payload), so `jq 'select(.kind == "review.decision")' audit.jsonl` works.
// It runs until ctx ends, returning ctx's error.
//
// Every control-plane process may run it; exactly one writes at a time: the
// one holding an exclusive flock on audit.lock. The others wait and take
// over when the writer exits or dies (the kernel releases its lock). The
// log is its own cursor: the writer resumes after the pos of its last
// complete line, so each event is written exactly once across processes
// and restarts. A page's lines go out in one write and are fsync'd before
// the next page is read; a torn last line (a crash mid-write) is cut on
// takeover and written again. Events of other kinds leave no line, so the
// writer also keeps the pos it has read through in the lock file, which
// only the writer writes: a new writer resumes after the later of the two
// and never reads the store again from where the last audit line was (a
// launch's writer read the whole store when no event was of an audit
// kind). A gap (events removed by retention before
// they were recorded) is written as a line of kind audit.gap after the
// events of the page that revealed it.
func RunAudit(ctx context.Context, store Store, opts AuditOptions) error {
	if len(opts.Kinds) == 0 {
		opts.Kinds = AuditKinds
	}
	if opts.RetryLock <= 0 {
		opts.RetryLock = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	lock, err := lockAudit(ctx, opts)
	if err != nil {
		return err
	}
	defer lock.Close()
	path := filepath.Join(opts.Dir, AuditFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	last, err := resumeAudit(f)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	last = max(last, readAuditCursor(lock, f))
	cur := AfterPos(last)
	var buf bytes.Buffer
	err = store.Follow(ctx, cur, func(p Page) error {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep lines as short as the payloads they carry
		for _, ev := range p.Events {
			if slices.Contains(opts.Kinds, ev.Kind) {
				if err := enc.Encode(ev); err != nil {
					return fmt.Errorf("encode event %s: %w", ev.ID, err)
				}
			}
		}
		for _, g := range p.Gaps {
			if err := enc.Encode(auditGap{Time: time.Now().UTC(), Kind: KindAuditGap, Pos: p.Next.After, Gap: g}); err != nil {
				return err
			}
		}
		if buf.Len() > 0 {
			if _, err := f.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			if err := f.Sync(); err != nil {
				return fmt.Errorf("sync %s: %w", path, err)
			}
		}
		writeAuditCursor(lock, f, p.Next.After)
		return nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("audit log %s: %w", path, err)
}

// lockAudit takes the writer's lock, waiting for it until ctx ends, and
// returns the lock file, which holds the cursor (see readAuditCursor).
func lockAudit(ctx context.Context, opts AuditOptions) (*os.File, error) {
	path := filepath.Join(opts.Dir, "audit.lock")
	lf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	for {
		err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			opts.Logger.Info("audit log: this process is the writer", "dir", opts.Dir)
			return lf, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			lf.Close()
			return nil, fmt.Errorf("audit log: lock %s: %w", path, err)
		}
		select {
		case <-time.After(opts.RetryLock):
		case <-ctx.Done():
			lf.Close()
			return nil, ctx.Err()
		}
	}
}

// resumeAudit cuts a torn last line from f and returns the pos its last
// complete line recorded (0 for an empty log).
func resumeAudit(f *os.File) (uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	// The last line is at most an event: read enough of the tail for one.
	const tail = 2 * MaxPayloadSize
	off := max(fi.Size()-tail, 0)
	data := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	whole := bytes.LastIndexByte(data, '\n') + 1
	if whole < len(data) {
		if err := f.Truncate(off + int64(whole)); err != nil {
			return 0, fmt.Errorf("cut torn last line: %w", err)
		}
		data = data[:whole]
	}
	if len(data) == 0 {
		return 0, nil
	}
	line := data[bytes.LastIndexByte(data[:len(data)-1], '\n')+1:]
	var at struct {
		Pos *uint64 `json:"pos"`
	}
	if err := json.Unmarshal(line, &at); err != nil || at.Pos == nil {
		return 0, fmt.Errorf("last line has no pos to resume from (%v): move the file aside to start a new log", err)
	}
	return *at.Pos, nil
}
