package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/server"
)

func TestBoundedEventStoreReplaysOneStream(t *testing.T) {
	s := newBoundedEventStore(100, 1<<20)
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		stream := []string{"get", "post-1"}[i%2]
		id, err := s.StoreEvent(ctx, "s1", stream, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_, _ = s.StoreEvent(ctx, "s2", "get", json.RawMessage(`{"other":true}`))
	var got []string
	stream, err := s.ReplayEventsAfter(ctx, "s1", ids[0], func(id string, m json.RawMessage) error {
		got = append(got, id+"="+string(m))
		return nil
	})
	if err != nil || stream != "get" {
		t.Fatalf("stream %q err %v", stream, err)
	}
	if strings.Join(got, " ") != ids[2]+`={"n":2} `+ids[4]+`={"n":4}` {
		t.Fatalf("replayed %v", got)
	}
	// Another session's id, a garbage id, a purged session: unknown.
	for _, tc := range []struct{ session, id string }{{"s2", ids[0]}, {"s1", "x"}, {"nope", ids[0]}} {
		if _, err := s.ReplayEventsAfter(ctx, tc.session, tc.id, func(string, json.RawMessage) error { return nil }); !errors.Is(err, server.ErrUnknownEventID) {
			t.Errorf("%v: %v", tc, err)
		}
	}
	_ = s.PurgeSession(ctx, "s1")
	if _, err := s.ReplayEventsAfter(ctx, "s1", ids[5], func(string, json.RawMessage) error { return nil }); !errors.Is(err, server.ErrUnknownEventID) {
		t.Errorf("after purge: %v", err)
	}
}

func TestBoundedEventStoreKeepsItsBounds(t *testing.T) {
	s := newBoundedEventStore(10, 1000)
	ctx := context.Background()
	var first, last string
	for i := range 1000 {
		id, _ := s.StoreEvent(ctx, "s", "get", json.RawMessage(fmt.Sprintf(`{"pad":"%040d"}`, i)))
		if i == 0 {
			first = id
		}
		last = id
	}
	log := s.sessions["s"]
	if len(log.events) > 10 || log.bytes > 1000 || log.events[len(log.events)-1].id == 0 {
		t.Fatalf("kept %d events, %d bytes", len(log.events), log.bytes)
	}
	if _, err := s.ReplayEventsAfter(ctx, "s", first, func(string, json.RawMessage) error { return nil }); !errors.Is(err, server.ErrUnknownEventID) {
		t.Errorf("a dropped event resumed: %v", err)
	}
	if _, err := s.ReplayEventsAfter(ctx, "s", last, func(string, json.RawMessage) error { return nil }); err != nil {
		t.Errorf("the newest event: %v", err)
	}
	// One event larger than the byte bound is still kept: the stream must
	// be able to deliver it.
	_, _ = s.StoreEvent(ctx, "big", "get", json.RawMessage(`"`+strings.Repeat("x", 5000)+`"`))
	if len(s.sessions["big"].events) != 1 {
		t.Fatal("a large event was dropped")
	}
}
