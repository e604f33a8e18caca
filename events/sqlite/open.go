package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
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
	// BusyTimeout is how long a writer waits behind one other writer that
	// does not finish (a stopped or stuck process), and any operation for
	// a lock SQLite holds, before failing with ErrLocked (default 30s).
	// Writers of every process queue in turn, and a writer waits as long
	// as the queue moves: a burst makes the queue long, not broken.
	BusyTimeout time.Duration
	// PollInterval is the followers' safety net for a missed doorbell
	// (default 1s).
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

	local bell.Bell // rung after this process commits or the doorbell rings
	// allFollowers counts the followers of every bottle: while there is
	// one, every commit anywhere concerns this process.
	allFollowers atomic.Int64
	tailReads    atomic.Uint64 // the tail's queries, for a test
	door         *doorbell
	tail         tail // wakes followers of one bottle
	// followReads counts the reads of every follower: a test sees from it
	// which followers a commit woke.
	followReads atomic.Uint64
	poll        time.Duration
	prune       chan struct{} // a bottle went past Retain
	closing     chan struct{}
	wg          sync.WaitGroup
	once        sync.Once
}

var _ events.Store = (*Store)(nil)

// Open opens (creating if needed) the store at path, migrating its schema,
// and checks the pages of the registry tables (checkRegistry; the whole
// file is Check's). A file that is not a SQLite database or whose registry
// is damaged, or one locked by another process, is an error naming the
// file (ErrCorrupt, ErrLocked), and nothing is written to it.
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
	door, err := openDoorbell(abs+"-bell", s.local.Ring, s.follows)
	if err != nil {
		s.w.Close()
		s.r.Close()
		q.close()
		return nil, fmt.Errorf("open event store %s: %w", abs, err)
	}
	s.door = door
	s.tail.s = s
	if door.watchErr != nil {
		s.log.Debug("event store: the doorbell is read every 50ms: its futex cannot be used", "path", abs, "error", door.watchErr)
	}
	s.wg.Add(1)
	go s.pruneLoop()
	return s, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// openPools opens the write and read pools, checks the registry and
// migrates the schema.
func (s *Store) openPools() error {
	busy := strconv.FormatInt(s.opts.BusyTimeout.Milliseconds(), 10)
	base := "file:" + (&url.URL{Path: s.path}).EscapedPath()
	write := base + "?_txlock=immediate" +
		"&_pragma=busy_timeout(" + busy + ")" +
		"&_pragma=journal_mode(WAL)" +
		// NORMAL: a commit is in the log (the page cache) when Append
		// returns, so no process crash loses it, but the log is fsync'd
		// only at checkpoints, and by Sync for a receiver that must
		// acknowledge on disk (a sidecar's batch). An fsync per commit,
		// made while holding the writers' queue, is what made the queue
		// slow on a loaded machine: the writer sleeps in fsync, then
		// waits for a CPU to hand the lock on.
		"&_pragma=synchronous(NORMAL)" +
		// After a checkpoint, a log that grew past this is cut back to
		// it, so a burst does not keep its disk space for good.
		"&_pragma=journal_size_limit(16777216)" +
		"&_pragma=foreign_keys(ON)"
	read := base + "?_pragma=busy_timeout(" + busy + ")" +
		"&_pragma=query_only(ON)"
	w, err := sql.Open("sqlite", write)
	if err != nil {
		return fmt.Errorf("open event store %s: %w", s.path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", read)
	if err != nil {
		w.Close()
		return fmt.Errorf("open event store %s: %w", s.path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.w, s.r = w, r
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.BusyTimeout+10*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		w.Close()
		r.Close()
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return classify(s.path, "open event store", err)
	}
	return nil
}

// Close stops retention and the doorbell watcher and closes the pools.
// Followers return events.ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		s.wg.Wait()
		s.tail.wait()
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

// follows reports whether a commit to the bottle of hash concerns a
// follower of this process (the doorbell's slots, doorbell.publish).
func (s *Store) follows(hash uint64) bool {
	return s.allFollowers.Load() > 0 || s.tail.follows(hash)
}

// write runs fn in a write transaction, in its turn among the writers of
// every process (see writeQueue), and commits.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.writeThen(ctx, fn, nil)
}

// writeThen is write, and runs committed (when not nil) after the commit,
// still in the writers' turn.
func (s *Store) writeThen(ctx context.Context, fn func(*sql.Tx) error, committed func()) error {
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
	if committed != nil {
		committed()
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
