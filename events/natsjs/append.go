package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxConflicts bounds how often one event is tried again because another
// writer took the seq it was given; each retry re-reads the bottle's head,
// so only a bottle written by very many writers at once gets near it.
const maxConflicts = 1000

// errCodeWrongLastSequenceClustered is the code a clustered stream
// answers a wrong expected last sequence with (nats.go names only 10071,
// the single server's).
const errCodeWrongLastSequenceClustered jetstream.ErrorCode = 10164

// Append stores evs in order; see events.Store. Each event is published
// with its id as Nats-Msg-Id (the stream drops a copy it has seen within
// Options.Dedup) and with the stream sequence of its bottle's newest event
// as the expected last sequence of the bottle's subjects: if another
// writer stored an event of the bottle in between, the server refuses,
// and the event is given the next seq and tried again. So seqs are
// gapless per bottle whichever machine writes.
//
// Unlike SQLite, a batch is not one transaction: if the connection breaks
// part-way, the events before the break are stored and the error says so;
// the caller's retry of the batch stores the rest, each once (ids).
func (s *Store) Append(ctx context.Context, evs []schemas.Event) ([]schemas.Event, error) {
	if s.isClosed() {
		return nil, events.ErrClosed
	}
	prepared := make([]schemas.Event, 0, len(evs))
	seen := make(map[string]bool, len(evs))
	for i, ev := range evs {
		p, err := events.Prepare(ev)
		if err != nil {
			return nil, fmt.Errorf("append to NATS event stream %s: event %d: %w", s.n.stream, i, err)
		}
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		prepared = append(prepared, p)
	}
	out := make([]schemas.Event, 0, len(prepared))
	for i, ev := range prepared {
		stored, dup, err := s.appendOne(ctx, ev)
		if err != nil {
			err = s.opErr(ctx, "append", fmt.Errorf("event %d (%s): %w", i, ev.ID, err))
			if i > 0 && !errors.Is(err, events.ErrClosed) {
				err = fmt.Errorf("%w (the %d events before it are stored)", err, i)
			}
			return out, err
		}
		if !dup {
			out = append(out, stored)
		}
	}
	return out, nil
}

// appendOne publishes one event, retrying on a seq taken by another
// writer; dup reports an event the stream already holds.
func (s *Store) appendOne(ctx context.Context, ev schemas.Event) (schemas.Event, bool, error) {
	filter := s.n.ofBottle(ev.Bottle)
	for range maxConflicts {
		head, err := s.head(ctx, ev.Bottle)
		if err != nil {
			return ev, false, err
		}
		ev.Seq = head.seq + 1
		data, err := encode(ev)
		if err != nil {
			return ev, false, err
		}
		msg := nats.NewMsg(s.n.subject(ev.Bottle, string(ev.Kind)))
		msg.Data = data
		msg.Header.Set(hdrMsgID, ev.ID)
		msg.Header.Set(hdrExpectSubjSeq, strconv.FormatUint(head.pos, 10))
		msg.Header.Set(hdrExpectSubjName, filter)
		ack, err := s.publish(ctx, msg)
		var apiErr *jetstream.APIError
		switch {
		case errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == errCodeWrongLastSequenceClustered):
			s.forget(ev.Bottle, head)
			continue
		case err != nil:
			return ev, false, err
		case ack.Duplicate:
			return ev, true, nil
		}
		ev.Pos = ack.Sequence
		s.remember(ev.Bottle, mark{seq: ev.Seq, pos: ev.Pos})
		s.hintAt(ev)
		return ev, false, nil
	}
	return ev, false, fmt.Errorf("bottle %s: another writer took its next seq %d times in a row", ev.Bottle, maxConflicts)
}

// head returns the newest event of bottle that this store knows, reading
// it from the server when it knows none.
func (s *Store) head(ctx context.Context, bottle string) (mark, error) {
	s.mu.Lock()
	m, ok := s.last[bottle]
	s.mu.Unlock()
	if ok {
		return m, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := s.lastOf(ctx, bottle)
	if err != nil {
		return mark{}, fmt.Errorf("read the newest event of bottle %s: %w", bottle, err)
	}
	if m.pos > 0 {
		s.remember(bottle, m)
	}
	return m, nil
}

// lastOf reads where bottle's writers continue: the stream sequence of
// the last message on its subjects (what the next append expects) and
// the seq of its newest event; the zero mark for a new bottle. A last
// message that does not decode (forged) has no seq: the seq is then that
// of the newest decodable message of each of the bottle's subjects
// before it.
func (s *Store) lastOf(ctx context.Context, bottle string) (mark, error) {
	got, err := s.get(ctx, getRequest{LastFor: s.n.ofBottle(bottle), positional: true})
	switch {
	case errors.Is(err, errNotFound):
		return mark{}, nil // a new bottle: nothing stored yet
	case err != nil:
		return mark{}, err
	}
	m := mark{seq: got[0].Seq, pos: got[0].Pos}
	if forged(got[0]) {
		got[0].Bottle = bottle
		if m.seq, err = s.seqBefore(ctx, got[0]); err != nil {
			return mark{}, err
		}
	}
	return m, nil
}

// remember records m as bottle's newest event unless a newer one is known.
func (s *Store) remember(bottle string, m mark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.last) > 100_000 {
		clear(s.last) // a bound, not a cache policy: it refills on use
	}
	if old, ok := s.last[bottle]; !ok || old.pos < m.pos {
		s.last[bottle] = m
	}
}

// forget drops a stale head so the next try reads it from the server.
func (s *Store) forget(bottle string, stale mark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last[bottle] == stale {
		delete(s.last, bottle)
	}
}

// pubAck is JetStream's answer to a publish: its acknowledgement, or the
// server's refusal (jetstream's own types; its decoder is not exported).
type pubAck struct {
	jetstream.PubAck
	Error *jetstream.APIError `json:"error,omitempty"`
}

// publish publishes msg to the stream and returns its acknowledgement; a
// refusal is a *jetstream.APIError with the server's code.
func (s *Store) publish(ctx context.Context, msg *nats.Msg) (pubAck, error) {
	var ack pubAck
	err := s.request(ctx, msg, func(reply *nats.Msg) (bool, error) {
		if st := reply.Header.Get(hdrStatus); len(reply.Data) == 0 && st != "" {
			return true, fmt.Errorf("publish to %s: status %s (is the stream there?)", msg.Subject, st)
		}
		if err := json.Unmarshal(reply.Data, &ack); err != nil {
			return true, fmt.Errorf("publish to %s: an unreadable acknowledgement: %w", msg.Subject, err)
		}
		if ack.Error != nil {
			return true, ack.Error
		}
		return true, nil
	})
	return ack, err
}
