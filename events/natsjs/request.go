package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/nats-io/nats.go"
)

// requestTimeout bounds one request to the server (a direct get, a
// publish's acknowledgement) on a connection that stays up: long, because
// a loaded machine can be slow. A request whose connection breaks meanwhile
// is never answered; the connection's watch says so at once, and the
// caller tries again.
const requestTimeout = 30 * time.Second

// errConnLost is a request cut off by a lost connection.
var errConnLost = errors.New("the connection to the NATS server broke while waiting for its answer")

// request sends msg with a reply subject on the connection's one reply
// subscription (replies) and hands each reply to take until take says it
// is done, the request times out, ctx ends, the connection breaks (or
// reconnects) under it, or the server refuses the publish. A subscription
// per request cost more than the request itself: nats.go gives each a
// channel of 64k messages.
func (s *Store) request(ctx context.Context, msg *nats.Msg, take func(*nats.Msg) (done bool, err error)) error {
	lost := s.watch.lostSignal()
	if !s.nc.IsConnected() {
		return errConnLost
	}
	start := time.Now()
	refused := s.refused.signal()
	w := s.replies.open()
	defer s.replies.close(w)
	msg.Reply = w.subject
	if err := s.nc.PublishMsg(msg); err != nil {
		return err
	}
	timeout := time.NewTimer(requestTimeout)
	defer timeout.Stop()
	for {
		for _, reply := range w.drain() {
			if done, err := take(reply); done || err != nil {
				return err
			}
		}
		select {
		case <-w.ready:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("%s: no answer within %s: %w", msg.Subject, requestTimeout, context.DeadlineExceeded)
		case <-lost:
			return errConnLost
		case <-s.done:
			return events.ErrClosed
		case <-refused:
			if s.refused.since(msg.Subject, start) {
				return fmt.Errorf("publish to %s: %w", msg.Subject, ErrPermission)
			}
			refused = s.refused.signal()
		}
	}
}

// replies is a connection's one reply subscription (_INBOX.<nuid>.*),
// whose last token names the request waiting for the message.
type replies struct {
	prefix string
	mu     sync.Mutex
	next   uint64
	wait   map[string]*waiter
}

// waiter collects the replies of one request.
type waiter struct {
	token   string
	subject string
	ready   chan struct{} // rung when msgs grows
	mu      sync.Mutex
	msgs    []*nats.Msg
}

// subscribe opens the reply subscription on nc. It survives reconnects
// (nats.go subscribes again), and has no pending limit: its handler only
// files a message, and a direct get's batch is bounded (MaxPage).
func (r *replies) subscribe(nc *nats.Conn) error {
	r.prefix = nc.NewInbox() + "."
	r.wait = map[string]*waiter{}
	sub, err := nc.Subscribe(r.prefix+"*", r.file)
	if err != nil {
		return fmt.Errorf("subscribe to replies: %w", err)
	}
	return sub.SetPendingLimits(-1, -1)
}

// file hands msg to the request its subject names; a reply to a request
// that gave up is dropped.
func (r *replies) file(msg *nats.Msg) {
	r.mu.Lock()
	w := r.wait[msg.Subject[len(r.prefix):]]
	r.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	w.msgs = append(w.msgs, msg)
	w.mu.Unlock()
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

func (r *replies) open() *waiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	token := strconv.FormatUint(r.next, 36)
	w := &waiter{token: token, subject: r.prefix + token, ready: make(chan struct{}, 1)}
	r.wait[token] = w
	return w
}

func (r *replies) close(w *waiter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.wait, w.token)
}

// drain takes the replies filed so far.
func (w *waiter) drain() []*nats.Msg {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}
