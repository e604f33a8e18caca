package natsjs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// Head returns the cursor after the newest event of bottle, or of the
// whole stream; see events.Store.
func (s *Store) Head(ctx context.Context, bottle string) (events.Cursor, error) {
	if s.isClosed() {
		return events.Cursor{}, events.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if bottle == "" {
		st, err := s.js.Stream(ctx, s.n.stream)
		if err != nil {
			return events.Cursor{}, s.opErr(ctx, "read the head", err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			return events.Cursor{}, s.opErr(ctx, "read the head", err)
		}
		return events.AfterPos(info.State.LastSeq), nil
	}
	m, err := s.lastOf(ctx, bottle)
	if err != nil {
		return events.Cursor{}, s.opErr(ctx, "read the head of bottle "+bottle, err)
	}
	if m.pos > 0 {
		s.remember(bottle, m)
		s.hintAt(schemas.Event{Bottle: bottle, Seq: m.seq, Pos: m.pos})
	}
	return events.AfterSeq(bottle, m.seq), nil
}

// Latest returns each bottle's newest event of kind; see events.Store. An
// ordered consumer that delivers the last message of each subject of the
// kind reads them in one pass; the per-subject retention never removes
// them.
func (s *Store) Latest(ctx context.Context, kind schemas.Kind) ([]schemas.Event, error) {
	if s.isClosed() {
		return nil, events.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := s.scan(ctx, []string{s.n.ofKind("", string(kind))}, jetstream.DeliverLastPerSubjectPolicy)
	if err != nil {
		return nil, s.opErr(ctx, "read the latest "+string(kind)+" events", err)
	}
	slices.SortFunc(out, func(a, b schemas.Event) int { return strings.Compare(a.Bottle, b.Bottle) })
	return out, nil
}

// scan reads every message of the filters (from the start, or the last of
// each subject) through an ordered consumer, keeping the genuine events
// (a forged body is stepped over, as get does). It ends when the consumer
// has nothing pending.
func (s *Store) scan(ctx context.Context, filters []string, policy jetstream.DeliverPolicy) ([]schemas.Event, error) {
	c, err := s.js.OrderedConsumer(ctx, s.n.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: policy, InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	var out []schemas.Event
	var pending uint64 // what the consumer says is left; unknown before the first message
	for first := true; ; first = false {
		var batch jetstream.MessageBatch
		if first {
			batch, err = c.FetchNoWait(MaxPage)
		} else {
			batch, err = c.Fetch(int(min(pending, MaxPage)), jetstream.FetchMaxWait(10*time.Second))
		}
		if err != nil {
			return nil, err
		}
		n := 0
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				return nil, err
			}
			ev, err := decode(msg.Data(), meta.Sequence.Stream)
			if err == nil && s.genuine(ev, msg.Subject()) {
				out = append(out, ev)
			}
			pending = meta.NumPending
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if n == 0 && !first {
			return nil, errors.New("the consumer stopped delivering with messages pending")
		}
		if n == 0 || pending == 0 {
			return out, nil
		}
	}
}
