package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events/internal/bell"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// BusOptions tune a Bus. The zero value is what a control plane wants.
type BusOptions struct {
	// QueueLimit bounds the events published but not yet stored (default
	// 65536). Past it Publish drops the event and counts it
	// (reason queue_full): the producer is never made to wait.
	QueueLimit int
	// BatchSize bounds the events written in one store transaction (default 1000).
	BatchSize int
	// SpoolDir is where Close writes the events it could not store (the
	// store failing, or Close's ctx ending first), for the next process
	// that opens the store to deliver (DeliverSpools). It must be this
	// process's own: one folder per process under a root that
	// DeliverSpools reads. Empty: such events are lost, and counted.
	SpoolDir string
	// SpoolReserve, with SpoolDir, sets that much disk aside for the spool
	// when the bus starts, so that a disk that fills up later (often by
	// the store itself) does not cost the events Close spools. 0 reserves
	// nothing: the spool is made when Close needs it.
	SpoolReserve int64
	Metrics      *Metrics
	Logger       *slog.Logger // default slog.Default()
}

// Bus is the in-process channel: producers Publish, one writer goroutine
// stores what they published in batches, and subscribers Follow the store.
//
// A Bus never hands an event from one goroutine to another subscriber
// directly. Subscribers (MCP notifications, the review queue, metrics, the
// audit log) follow the store's cursor and are woken when a batch commits,
// so a subscriber that falls behind only lags: it reads the backlog from the
// store at its own pace (counted as follower_behind_total), and can neither
// slow the producer nor lose an event. What can be lost is what has not yet
// reached the store: if the store stays unwritable (disk full, locked) while
// producers publish QueueLimit more events, new events are dropped and
// counted (dropped_total{reason="queue_full"}) rather than queued without
// bound; the writer keeps retrying what it holds.
type Bus struct {
	store   Store
	limit   int
	batch   int
	metrics *Metrics
	log     *slog.Logger
	warn    throttle

	mu       sync.Mutex
	pending  queue
	accepted uint64 // events ever taken into pending
	handled  uint64 // of those, stored, found duplicate, dropped or set aside
	closed   bool

	// unstored are the events the writer gave up on while closing (the
	// store failing, or Close's ctx ending), in order, with the store's
	// last error; Close spools them. Only the writer touches them until
	// it is done.
	unstored []schemas.Event
	lastErr  error
	spoolDir string
	spool    *spool

	wake     chan struct{} // a Publish since the writer last looked
	progress bell.Bell     // rung when handled grows
	stop     chan struct{} // Close asks the writer to finish
	abort    context.CancelFunc
	done     chan struct{} // the writer has returned
}

var _ Publisher = (*Bus)(nil)

// NewBus starts a bus that writes to store. Close it to stop its writer.
func NewBus(store Store, opts BusOptions) *Bus {
	if opts.QueueLimit <= 0 {
		opts.QueueLimit = 1 << 16
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bus{
		store: store, limit: opts.QueueLimit, batch: opts.BatchSize,
		metrics: opts.Metrics.OrNew(), log: opts.Logger, warn: throttle{every: 10 * time.Second},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), abort: cancel, done: make(chan struct{}),
		spoolDir: opts.SpoolDir,
	}
	if opts.SpoolDir != "" && opts.SpoolReserve > 0 {
		sp, err := ownSpool(opts.SpoolDir)
		if err == nil {
			err = sp.reserve(opts.SpoolReserve)
			b.spool = sp
		}
		if err != nil {
			b.log.Debug("event bus: no disk reserved for the spool; it will need free space if it is written", "spool", opts.SpoolDir, "error", err)
		}
	}
	go b.write(ctx)
	return b
}

// Store returns the store the bus writes to, for readers.
func (b *Bus) Store() Store { return b.store }

// Follow follows the bus's store; see Store.Follow.
func (b *Bus) Follow(ctx context.Context, from Cursor, fn func(Page) error) error {
	return b.store.Follow(ctx, from, fn)
}

// Publish queues ev for the store and returns at once: it takes a mutex for
// an append and never waits on I/O. Past QueueLimit, or after Close, the
// event is dropped and counted.
func (b *Bus) Publish(ev schemas.Event) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		b.drop(DropClosed, ev, 1, nil)
		return
	case b.accepted-b.handled >= uint64(b.limit):
		b.mu.Unlock()
		b.drop(DropQueueFull, ev, 1, nil)
		return
	}
	b.pending.push(ev)
	b.accepted++
	b.mu.Unlock()
	b.metrics.Published.Inc()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Flush waits until every event published before the call is stored (or
// dropped and counted), or ctx ends.
func (b *Bus) Flush(ctx context.Context) error {
	b.mu.Lock()
	target := b.accepted
	b.mu.Unlock()
	for {
		ch := b.progress.Wait()
		b.mu.Lock()
		reached := b.handled >= target
		b.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-ch:
		case <-b.done:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("flush event bus: %w", ctx.Err())
		}
	}
}

// Close stops accepting events, stores what is queued and stops the writer.
// While closing it does not retry a failing store: the events it cannot
// store, and those still queued when ctx ends, are written to the spool
// (BusOptions.SpoolDir) for the next process that opens the store, and
// the error, an *UnstoredError, says how many and where, or how many were
// lost. Close does not close the store.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		close(b.stop)
	}
	select {
	case <-b.done:
	case <-ctx.Done():
		b.abort()
		<-b.done
	}
	if already || len(b.unstored) == 0 {
		if b.spool != nil {
			b.spool.close()
			os.RemoveAll(b.spool.dir) // reserved, never written
			b.spool = nil
		}
		return nil
	}
	cause := b.lastErr
	if cause == nil {
		cause = ctx.Err()
	}
	spooled, lost, dir, err := b.spoolUnstored(b.unstored)
	if b.spool != nil {
		b.spool.close()
		b.spool = nil
	}
	if lost > 0 {
		b.metrics.Dropped.WithLabelValues(DropClosed).Add(float64(lost))
	}
	return &UnstoredError{Spooled: spooled, Dir: dir, Lost: lost, SpoolErr: err, Cause: cause}
}

// write is the one goroutine that appends to the store.
func (b *Bus) write(ctx context.Context) {
	defer close(b.done)
	defer b.abort()
	for {
		b.mu.Lock()
		blocks := b.pending.take()
		b.mu.Unlock()
		if len(blocks) == 0 {
			select {
			case <-b.wake:
				continue
			case <-b.stop:
				b.mu.Lock()
				empty := b.pending.len() == 0
				b.mu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		var batch []schemas.Event
		for _, block := range blocks {
			batch = append(batch, block...)
			for len(batch) >= b.batch {
				b.storeBatch(ctx, batch[:b.batch])
				batch = batch[b.batch:]
			}
		}
		if len(batch) > 0 {
			b.storeBatch(ctx, batch)
		}
	}
}

// storeBatch appends one batch, retrying with backoff until it is stored;
// invalid events are dropped first so that one bad event cannot hold the
// others back. Once Close has begun, a failure is not retried: the batch,
// and every batch after it, is set aside for Close to spool.
func (b *Bus) storeBatch(ctx context.Context, batch []schemas.Event) {
	valid := batch[:0:0]
	for _, ev := range batch {
		if _, err := Prepare(ev); err != nil {
			b.drop(DropInvalid, ev, 1, err)
			b.markHandled(1)
			continue
		}
		valid = append(valid, ev)
	}
	backoff := 50 * time.Millisecond
	for len(valid) > 0 {
		if len(b.unstored) > 0 || ctx.Err() != nil {
			b.unstored = append(b.unstored, valid...) // the store failed while closing: keep the order
			break
		}
		_, err := b.store.Append(ctx, valid)
		if err == nil {
			break
		}
		b.metrics.AppendErrors.Inc()
		if ctx.Err() == nil {
			b.lastErr = err
		}
		if b.stopping() || ctx.Err() != nil || errors.Is(err, ErrClosed) {
			b.unstored = append(b.unstored, valid...)
			break
		}
		if ok, held := b.warn.allow(); ok {
			b.log.Warn("event bus: store append failed; retrying", "events", len(valid), "error", err, "warnings_suppressed", held)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		case <-b.stop: // Close spools rather than waits out the backoff
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	b.markHandled(len(valid))
}

// stopping reports whether Close has begun.
func (b *Bus) stopping() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

func (b *Bus) markHandled(n int) {
	b.mu.Lock()
	b.handled += uint64(n)
	b.mu.Unlock()
	b.progress.Ring()
}

// drop counts n events lost for reason and warns, at most every few
// seconds. It names the event, never its payload.
func (b *Bus) drop(reason string, ev schemas.Event, n int, err error) {
	b.metrics.Dropped.WithLabelValues(reason).Add(float64(n))
	if ok, held := b.warn.allow(); ok {
		b.log.Warn("event bus: dropping events", "reason", reason, "events", n, "event", ev.ID, "kind", ev.Kind, "bottle", ev.Bottle, "error", err, "warnings_suppressed", held)
	}
}
