package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events/internal/bell"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// ForwarderOptions configure a Forwarder.
type ForwarderOptions struct {
	// SpoolDir holds the spool; it must be private to this sidecar and
	// survive its restarts (a volume, for a container).
	SpoolDir string
	// Endpoint is the control plane: "unix:/path/to/control.sock".
	Endpoint string
	// Store, when set, is where events are delivered instead of Endpoint:
	// a shared channel the sidecar reaches itself (NATS). The spool, the
	// order and the retries are the same; only SidecarKinds are sent, as
	// the control plane's handler would accept.
	Store Store
	// QueueLimit bounds the events published but not yet spooled (default
	// 65536); past it Publish drops and counts (reason queue_full).
	QueueLimit int
	// BatchSize bounds the events sent in one request (default 500).
	BatchSize int
	// MaxSpoolBytes bounds the spool on disk (default 256 MiB); past it new
	// events are dropped and counted (reason spool_full).
	MaxSpoolBytes int64
	// MinBackoff and MaxBackoff bound the wait between failed deliveries
	// (defaults 100ms and 5s; each wait is jittered).
	MinBackoff, MaxBackoff time.Duration
	Metrics                *Metrics
	Logger                 *slog.Logger // default slog.Default()
}

// Forwarder is the Publisher of a standalone sidecar (`bot-bottle egress`)
// that cannot reach the store: it delivers events to the control plane at
// least once. Publish queues in memory and returns; a spooler goroutine
// appends the queue to the spool file and fsyncs it; a deliverer goroutine
// sends the spool's unacknowledged events to the control plane, in order,
// and advances the spool only when the control plane answers that it has
// committed them. While the control plane is down, events wait in the spool
// and delivery retries with jittered exponential backoff; a restarted
// sidecar resumes from its spool. A batch whose acknowledgement was lost is
// sent again, and the store ignores the ids it already has.
type Forwarder struct {
	opts  ForwarderOptions
	spool *spool
	post  func(context.Context, []schemas.Event) (BatchResult, error)
	m     *Metrics
	log   *slog.Logger
	warn  throttle

	mu        sync.Mutex
	queue     queue
	accepted  uint64 // events taken into the queue
	spooled   uint64 // of those, spooled or dropped
	completed uint64 // events acknowledged or dropped, counting the backlog found at start
	backlog   uint64 // events found in the spool at start
	closed    bool

	wakeSpooler, wakeDeliverer chan struct{}
	progress                   bell.Bell
	stop                       chan struct{}
	spooler, deliverer         chan struct{} // closed when each goroutine returns
	abort                      context.CancelFunc
	ctx                        context.Context
}

var _ Publisher = (*Forwarder)(nil)

// NewForwarder opens the spool (another forwarder using the same SpoolDir is
// an error), and starts delivering what it holds.
func NewForwarder(opts ForwarderOptions) (*Forwarder, error) {
	if opts.SpoolDir == "" {
		return nil, errors.New("new event forwarder: no spool folder")
	}
	post, err := storePoster(opts.Store), error(nil)
	if opts.Store == nil {
		post, err = newPoster(opts.Endpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("new event forwarder: %w", err)
	}
	if opts.QueueLimit <= 0 {
		opts.QueueLimit = 1 << 16
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MaxSpoolBytes <= 0 {
		opts.MaxSpoolBytes = 256 << 20
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Second, opts.MinBackoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sp, backlog, err := openSpool(opts.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("new event forwarder: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{
		opts: opts, spool: sp, post: post, m: opts.Metrics.OrNew(), log: opts.Logger, warn: throttle{every: 10 * time.Second},
		backlog: uint64(backlog), wakeSpooler: make(chan struct{}, 1), wakeDeliverer: make(chan struct{}, 1),
		stop: make(chan struct{}), spooler: make(chan struct{}), deliverer: make(chan struct{}), abort: cancel, ctx: ctx,
	}
	go f.runSpooler()
	go f.runDeliverer()
	return f, nil
}

// Publish queues ev and returns at once; see Forwarder.
func (f *Forwarder) Publish(ev schemas.Event) {
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		f.drop(DropClosed, 1, ev.ID, nil)
		return
	case f.accepted-f.spooled >= uint64(f.opts.QueueLimit):
		f.mu.Unlock()
		f.drop(DropQueueFull, 1, ev.ID, nil)
		return
	}
	f.queue.push(ev)
	f.accepted++
	f.mu.Unlock()
	f.m.Published.Inc()
	poke(f.wakeSpooler)
}

// Flush waits until every event published before the call, and every event
// the spool held at start, is acknowledged by the control plane (or dropped
// and counted), or ctx ends.
func (f *Forwarder) Flush(ctx context.Context) error {
	f.mu.Lock()
	target := f.backlog + f.accepted
	f.mu.Unlock()
	for {
		ch := f.progress.Wait()
		f.mu.Lock()
		reached := f.completed >= target
		f.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-ch:
		case <-f.deliverer:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("flush event forwarder: %w", ctx.Err())
		}
	}
}

// Close stops accepting events, spools what is queued, and keeps delivering
// until the spool is empty or ctx ends. What is still spooled then is
// delivered by the next forwarder on the same SpoolDir.
func (f *Forwarder) Close(ctx context.Context) error {
	f.mu.Lock()
	already := f.closed
	f.closed = true
	f.mu.Unlock()
	if already {
		return nil
	}
	close(f.stop)
	<-f.spooler
	select {
	case <-f.deliverer:
	case <-ctx.Done():
		f.abort()
		<-f.deliverer
	}
	f.abort()
	f.spool.close()
	return nil
}

func (f *Forwarder) runSpooler() {
	defer close(f.spooler)
	defer poke(f.wakeDeliverer) // the deliverer checks for the end after the last spooling
	for {
		f.mu.Lock()
		blocks := f.queue.take()
		f.mu.Unlock()
		if len(blocks) == 0 {
			select {
			case <-f.wakeSpooler:
				continue
			case <-f.stop:
				f.mu.Lock()
				empty := f.queue.len() == 0
				f.mu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		for _, block := range blocks {
			f.spoolBatch(block)
		}
	}
}

// spoolBatch writes one batch to the spool, retrying a failing disk until
// the forwarder is aborted.
func (f *Forwarder) spoolBatch(batch []schemas.Event) {
	valid := batch[:0:0]
	dropped := 0
	for _, ev := range batch {
		p, err := Prepare(ev)
		if err != nil {
			f.drop(DropInvalid, 1, ev.ID, err)
			dropped++
			continue
		}
		valid = append(valid, p)
	}
	backoff := f.opts.MinBackoff
	for len(valid) > 0 {
		ok, err := f.spool.append(valid, f.opts.MaxSpoolBytes)
		if err == nil && ok {
			f.m.Spooled.Add(float64(len(valid)))
			break
		}
		if err == nil { // the spool is at its bound
			f.drop(DropSpoolFull, len(valid), valid[0].ID, nil)
			dropped += len(valid)
			valid = nil
			break
		}
		if ok, held := f.warn.allow(); ok {
			f.log.Warn("event forwarder: spooling failed; retrying", "error", err, "warnings_suppressed", held)
		}
		select {
		case <-time.After(backoff):
		case <-f.ctx.Done():
			f.drop(DropClosed, len(valid), valid[0].ID, err)
			dropped += len(valid)
			valid = nil
		}
		backoff = min(2*backoff, f.opts.MaxBackoff)
	}
	f.mu.Lock()
	f.spooled += uint64(len(batch))
	f.completed += uint64(dropped)
	f.mu.Unlock()
	f.progress.Ring()
	if len(valid) > 0 {
		poke(f.wakeDeliverer)
	}
}

func (f *Forwarder) runDeliverer() {
	defer close(f.deliverer)
	backoff := f.opts.MinBackoff
	size := f.opts.BatchSize
	for {
		evs, end, bad, err := f.spool.unacked(size)
		if err == nil && len(evs) == 0 && bad == 0 {
			select {
			case <-f.wakeDeliverer:
				continue
			case <-f.spooler: // stopping, and everything spooled is delivered
				return
			case <-f.ctx.Done():
				return
			}
		}
		rejected := 0
		if err == nil && len(evs) > 0 {
			var res BatchResult
			res, err = f.post(f.ctx, evs)
			var status *statusError
			switch {
			case errors.As(err, &status) && status.code == http.StatusRequestEntityTooLarge && size > 1:
				size = max(size/2, 1) // the control plane takes smaller batches
				continue
			case errors.As(err, &status) && status.permanent():
				// The control plane will never take this batch as it is:
				// sending it again cannot help, and would hold back every
				// event after it.
				res, err = BatchResult{Rejected: make([]Rejection, len(evs))}, nil
				res.Rejected[0] = Rejection{ID: evs[0].ID, Error: status.Error()}
			}
			// Duplicates are batches sent again after a lost answer; the
			// store kept one copy.
			f.m.Duplicates.Add(float64(res.Duplicates))
			if rejected = len(res.Rejected); err == nil && rejected > 0 {
				// The control plane will never take these (a kind or bottle
				// it does not accept from a sidecar): retrying cannot help.
				f.drop(DropRejected, rejected, res.Rejected[0].ID, errors.New(res.Rejected[0].Error))
			}
		}
		if err == nil {
			err = f.spool.ack(end)
		}
		if err == nil && bad > 0 {
			f.drop(DropInvalid, bad, "", errors.New("undecodable line in the spool"))
		}
		if err != nil {
			f.m.DeliveryErrors.Inc()
			if ok, held := f.warn.allow(); ok {
				f.log.Warn("event forwarder: delivery failed; retrying", "events", len(evs), "error", err, "warnings_suppressed", held)
			}
			select {
			case <-time.After(jitter(backoff)):
			case <-f.ctx.Done():
				return
			}
			backoff = min(2*backoff, f.opts.MaxBackoff)
			continue
		}
		backoff = f.opts.MinBackoff
		f.m.Delivered.Add(float64(len(evs) - rejected))
		f.mu.Lock()
		f.completed += uint64(len(evs) + bad)
		f.mu.Unlock()
		f.progress.Ring()
	}
}

// jitter spreads d over [d/2, d), so sidecars that lost the control plane
// together do not all retry at the same instant.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (f *Forwarder) drop(reason string, n int, id string, err error) {
	f.m.Dropped.WithLabelValues(reason).Add(float64(n))
	if ok, held := f.warn.allow(); ok {
		f.log.Warn("event forwarder: dropping events", "reason", reason, "events", n, "event", id, "error", err, "warnings_suppressed", held)
	}
}
