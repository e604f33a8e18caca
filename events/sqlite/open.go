package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/internal/bell"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the store's file in the bot-bottle home.
const FileName = "state.db"

// DefaultRetain is how many events a bottle keeps when Options.Retain is 0.
const DefaultRetain = 100_000

// Options tune a Store. The zero value is what bot-bottle runs with.
type Options struct {
	// Retain bounds the events kept per bottle (default DefaultRetain; a
	// negative value keeps everything). The newest are kept; the latest
	// event of each kind of each bottle is kept apart and never pruned.
	Retain int
	// BusyTimeout is how long a writer waits in the queue of writers
	// (and any operation for a lock SQLite holds) before failing with
	// ErrLocked (default 30s). Writers of every process queue in turn, so
	// this bounds the wait behind a stuck process, not the queue's
	// length under a burst.
	BusyTimeout time.Duration
	// PollInterval is the followers' safety net for a missed doorbell
	// (default 1s; 50ms where the doorbell cannot be watched).
	PollInterval time.Duration
	Metrics      *events.Metrics
	Logger       *slog.Logger // default slog.Default()
}

// Store is an events.Store on a SQLite file. It is safe for concurrent use,
// within a process and across processes.
type Store struct {
	path    string
	opts    Options
	metrics *events.Metrics
	log     *slog.Logger

	w *sql.DB // one connection: writes, BEGIN IMMEDIATE
	r *sql.DB // several connections: reads
	q *writeQueue

	local   bell.Bell // rung after this process commits or the doorbell rings
	door    *doorbell
	poll    time.Duration
	prune   chan struct{} // a bottle went past Retain
	closing chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

var _ events.Store = (*Store)(nil)

// Open opens (creating if needed) the store at path, migrating its schema.
// A file that is not a SQLite database, or one locked by another process,
// is an error naming the file (ErrCorrupt, ErrLocked), and nothing is
// written to it.
func Open(path string, opts Options) (*Store, error) {
	if opts.Retain == 0 {
		opts.Retain = DefaultRetain
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 30 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open event store %s: %w", abs, err)
	}
	s := &Store{
		path: abs, opts: opts, metrics: opts.Metrics.OrNew(), log: opts.Logger,
		poll: opts.PollInterval, prune: make(chan struct{}, 1), closing: make(chan struct{}),
	}
	q, err := openWriteQueue(abs + "-lock")
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", abs, err)
	}
	s.q = q
	if err := s.openPools(); err != nil {
		q.close()
		return nil, err
	}
	door, err := openDoorbell(abs+"-bell", s.local.Ring)
	if err != nil {
		s.w.Close()
		s.r.Close()
		q.close()
		return nil, fmt.Errorf("open event store %s: %w", abs, err)
	}
	s.door = door
	if door.watchErr != nil {
		s.poll = min(s.poll, 50*time.Millisecond)
		s.log.Info("event store: followers poll: no doorbell watcher", "path", abs, "error", door.watchErr)
	}
	s.wg.Add(1)
	go s.pruneLoop()
	return s, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// openPools opens the write and read pools and migrates the schema.
func (s *Store) openPools() error {
	busy := strconv.FormatInt(s.opts.BusyTimeout.Milliseconds(), 10)
	base := "file:" + (&url.URL{Path: s.path}).EscapedPath()
	write := base + "?_txlock=immediate" +
		"&_pragma=busy_timeout(" + busy + ")" +
		"&_pragma=journal_mode(WAL)" +
		// FULL: a commit is on disk before Append returns, which is what
		// lets the control plane acknowledge a sidecar's batch. Batching
		// makes the extra fsync cheap per event.
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)"
	read := base + "?_pragma=busy_timeout(" + busy + ")" +
		"&_pragma=query_only(ON)"
	w, err := sql.Open("sqlite", write)
	if err != nil {
		return fmt.Errorf("open event store %s: %w", s.path, err)
	}
	w.SetMaxOpenConns(1)
	s.w = w
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.BusyTimeout+10*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return classify(s.path, "open event store", err)
	}
	r, err := sql.Open("sqlite", read)
	if err != nil {
		w.Close()
		return fmt.Errorf("open event store %s: %w", s.path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.r = r
	return nil
}

// Close stops retention and the doorbell watcher and closes the pools.
// Followers return events.ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		s.wg.Wait()
		s.door.Close()
		err = s.w.Close()
		s.q.close()
		if rerr := s.r.Close(); err == nil {
			err = rerr
		}
		if err != nil {
			err = fmt.Errorf("close event store %s: %w", s.path, err)
		}
	})
	return err
}

// write runs fn in a write transaction, in its turn among the writers of
// every process (see writeQueue), and commits.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	unlock, err := s.q.lock(ctx, s.opts.BusyTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// closed reports whether Close was called.
func (s *Store) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}
