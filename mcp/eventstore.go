package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/server"
)

// Bounds of what the event store keeps per session.
const (
	defaultStoreEvents = 1024
	defaultStoreBytes  = 4 << 20
)

// boundedEventStore is the streamable HTTP transport's resumability store
// (server.EventStore) with a bound per session: the newest events up to a
// count and a size, so a session that lives for days does not grow without
// end (mcp-go's InMemoryEventStore keeps everything until the session
// ends). A client resuming after an event that was dropped is told its
// event is unknown and starts a fresh stream.
type boundedEventStore struct {
	maxEvents int
	maxBytes  int

	mu       sync.Mutex
	seq      uint64
	sessions map[string]*sessionLog
}

type sessionLog struct {
	events []storedEvent // oldest first
	bytes  int
}

type storedEvent struct {
	id     uint64
	stream string
	msg    json.RawMessage
}

var _ server.EventStore = (*boundedEventStore)(nil)

func newBoundedEventStore(maxEvents, maxBytes int) *boundedEventStore {
	return &boundedEventStore{maxEvents: maxEvents, maxBytes: maxBytes, sessions: map[string]*sessionLog{}}
}

// StoreEvent records message on streamID and returns its id, dropping the
// session's oldest events past the bounds.
func (s *boundedEventStore) StoreEvent(_ context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := s.sessions[sessionID]
	if log == nil {
		log = &sessionLog{}
		s.sessions[sessionID] = log
	}
	s.seq++
	ev := storedEvent{id: s.seq, stream: streamID, msg: append(json.RawMessage(nil), message...)}
	log.events = append(log.events, ev)
	log.bytes += len(ev.msg)
	drop := 0
	for len(log.events)-drop > 1 && (len(log.events)-drop > s.maxEvents || log.bytes > s.maxBytes) {
		log.bytes -= len(log.events[drop].msg)
		drop++
	}
	if drop > 0 {
		log.events = append(log.events[:0:0], log.events[drop:]...)
	}
	return strconv.FormatUint(ev.id, 10), nil
}

// ReplayEventsAfter sends the events of lastEventID's stream stored after
// it, in order.
func (s *boundedEventStore) ReplayEventsAfter(ctx context.Context, sessionID, lastEventID string, send func(string, json.RawMessage) error) (string, error) {
	after, err := strconv.ParseUint(lastEventID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("event %q: %w", lastEventID, server.ErrUnknownEventID)
	}
	s.mu.Lock()
	var stream string
	var replay []storedEvent
	if log := s.sessions[sessionID]; log != nil {
		found := false
		for _, ev := range log.events {
			if ev.id == after {
				stream, found = ev.stream, true
				continue
			}
			if found && ev.stream == stream {
				replay = append(replay, ev)
			}
		}
		if !found {
			s.mu.Unlock()
			return "", fmt.Errorf("event %q: %w", lastEventID, server.ErrUnknownEventID)
		}
	} else {
		s.mu.Unlock()
		return "", fmt.Errorf("event %q: %w", lastEventID, server.ErrUnknownEventID)
	}
	s.mu.Unlock()
	for _, ev := range replay {
		if err := ctx.Err(); err != nil {
			return stream, err
		}
		if err := send(strconv.FormatUint(ev.id, 10), ev.msg); err != nil {
			return stream, err
		}
	}
	return stream, nil
}

// PurgeSession forgets a session's events.
func (s *boundedEventStore) PurgeSession(_ context.Context, sessionID string) error {
	s.mu.Lock()
	delete(s.sessions, sessionID)
	s.mu.Unlock()
	return nil
}
