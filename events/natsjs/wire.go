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
}

// errNotFound is a direct get that found nothing.
var errNotFound = errors.New("no message")

// get sends a direct get and returns the events of its answer, in stream
// order. A batch answer ends with an end-of-batch status; a single one is
// one message or 404.
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
		ev, end, err := fromReply(reply)
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
func fromReply(msg *nats.Msg) (ev schemas.Event, end bool, err error) {
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
	return ev, false, err
}
