package natsjs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// requestTimeout bounds one request to the server (a direct get, a
// publish's acknowledgement) on a connection that stays up: long, because
// a loaded machine can be slow. A request whose connection breaks meanwhile
// is never answered; that is noticed within connCheck, not after the
// timeout, and the caller tries again.
const (
	requestTimeout = 30 * time.Second
	connCheck      = 200 * time.Millisecond
)

// errConnLost is a request cut off by a lost connection.
var errConnLost = errors.New("the connection to the NATS server broke while waiting for its answer")

// request sends msg with a reply inbox of its own and hands each reply to
// take until take says it is done, the request times out, ctx ends, or the
// connection breaks (or reconnects) under it.
func (s *Store) request(ctx context.Context, msg *nats.Msg, take func(*nats.Msg) (done bool, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	before, start := s.nc.Stats().Reconnects, time.Now()
	if !s.nc.IsConnected() {
		return errConnLost
	}
	msg.Reply = s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(msg.Reply)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := s.nc.PublishMsg(msg); err != nil {
		return err
	}
	for {
		wait, stop := context.WithTimeout(ctx, connCheck)
		reply, err := sub.NextMsgWithContext(wait)
		stop()
		switch {
		case err == nil:
			if done, err := take(reply); done || err != nil {
				return err
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		case !s.nc.IsConnected() || s.nc.Stats().Reconnects != before:
			return errConnLost
		case s.refused.since(msg.Subject, start):
			return fmt.Errorf("publish to %s: %w", msg.Subject, ErrPermission)
		}
	}
}
