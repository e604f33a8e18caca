package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nats.go"
)

// An event's message: the body is the event as JSON (its Pos left out: the
// stream sequence is the position), and the event id is the Nats-Msg-Id,
// which the stream de-duplicates on.
const (
	hdrMsgID          = "Nats-Msg-Id"
	hdrExpectSubjSeq  = "Nats-Expected-Last-Subject-Sequence"
	hdrExpectSubjName = "Nats-Expected-Last-Subject-Sequence-Subject"
	hdrSequence       = "Nats-Sequence"
	hdrSubject        = "Nats-Subject"
	hdrStatus         = "Status"
)

// stored is the body of an event's message.
type stored struct {
	ID      string          `json:"id"`
	Bottle  string          `json:"bottle"`
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Kind    schemas.Kind    `json:"kind"`
	Payload json.RawMessage `json:"payload"`
}

func encode(ev schemas.Event) ([]byte, error) {
	return json.Marshal(stored{ID: ev.ID, Bottle: ev.Bottle, Seq: ev.Seq, Time: ev.Time, Kind: ev.Kind, Payload: ev.Payload})
}

// decode reads an event back from a message and its stream sequence.
func decode(data []byte, pos uint64) (schemas.Event, error) {
	var b stored
	if err := json.Unmarshal(data, &b); err != nil {
		return schemas.Event{}, fmt.Errorf("message %d: not an event: %w", pos, err)
	}
	return schemas.Event{ID: b.ID, Bottle: b.Bottle, Seq: b.Seq, Pos: pos, Time: b.Time.UTC(), Kind: b.Kind, Payload: b.Payload}, nil
}

// getRequest is JetStream's direct get: the messages matching a subject
// filter from a stream sequence on, or the last of each subject up to a
// sequence, answered by any replica without a consumer.
type getRequest struct {
	Seq       uint64   `json:"seq,omitempty"`
	NextFor   string   `json:"next_by_subj,omitempty"`
	LastFor   string   `json:"last_by_subj,omitempty"`
	Batch     int      `json:"batch,omitempty"`
	MultiLast []string `json:"multi_last,omitempty"`
	UpToSeq   uint64   `json:"up_to_seq,omitempty"`

	// positional asks for where a bottle's writers are (head, locate),
	// not for events to hand on: see get.
	positional bool
}

// A message that is not an event bot-bottle wrote on its subject: a body
// that does not decode, or that names another bottle or kind than the
// subject does. The server's permissions check the subject, not the body,
// so a sidecar's user could otherwise publish, on its own bottle's egress
// subject, a decision for another bottle. get hands such a message on as
// a placeholder (its Pos, no Kind), which readers step over.
func forged(ev schemas.Event) bool { return ev.Kind == "" }

// genuine reports whether ev, read from a message on subject, is what a
// Store writes there.
func (s *Store) genuine(ev schemas.Event, subject string) bool {
	return ev.ID != "" && ev.Seq > 0 && ev.Kind != "" && s.n.subject(ev.Bottle, string(ev.Kind)) == subject
}

// errNotFound is a direct get that found nothing.
var errNotFound = errors.New("no message")

// get sends a direct get and returns the events of its answer, in stream
// order. A batch answer ends with an end-of-batch status; a single one is
// one message or 404. A message that is not a genuine event comes back as
// a placeholder (forged), unless the request is positional and its body
// decodes: then it is taken as is (a forged one can only be on the
// subjects of a bottle whose events its user may publish, and misplaces
// only that bottle's seqs).
func (s *Store) get(ctx context.Context, req getRequest) ([]schemas.Event, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg("$JS.API.DIRECT.GET." + s.n.stream)
	msg.Data = body
	single := req.Batch == 0 && len(req.MultiLast) == 0
	var out []schemas.Event
	found := true
	err = s.request(ctx, msg, func(reply *nats.Msg) (bool, error) {
		ev, end, err := s.fromReply(reply, req.positional)
		switch {
		case err != nil:
			return true, err
		case end:
			found = len(out) > 0 || !single
			return true, nil
		}
		out = append(out, ev)
		return single, nil // a single answer is one message, a batch ends with its status
	})
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, errNotFound
	}
	return out, nil
}

// fromReply decodes one message of a direct get answer; end reports the
// end of the answer (end of batch, or nothing found).
func (s *Store) fromReply(msg *nats.Msg, positional bool) (ev schemas.Event, end bool, err error) {
	if len(msg.Data) == 0 && msg.Header.Get(hdrStatus) != "" {
		switch st := msg.Header.Get(hdrStatus); st {
		case "204", "404":
			return ev, true, nil
		default:
			return ev, false, fmt.Errorf("direct get: status %s %s", st, msg.Header.Get("Description"))
		}
	}
	pos, err := strconv.ParseUint(msg.Header.Get(hdrSequence), 10, 64)
	if err != nil {
		return ev, false, fmt.Errorf("direct get: a message without its stream sequence")
	}
	ev, err = decode(msg.Data, pos)
	switch {
	case positional && err == nil:
		return ev, false, nil
	case err != nil || !positional && !s.genuine(ev, msg.Header.Get(hdrSubject)):
		s.opts.Logger.Warn("NATS event stream: a message that is not an event written on its subject; skipped", "pos", pos, "subject", msg.Header.Get(hdrSubject))
		return schemas.Event{Pos: pos}, false, nil
	}
	return ev, false, nil
}
