package events

import (
	"sync"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Publisher accepts events from a producer. Publish must return promptly
// and must not fail the producer: the egress proxy calls it on its request
// path. An implementation that cannot keep up drops or spools, counts what
// it did, and never blocks.
type Publisher interface {
	Publish(ev schemas.Event)
}

// Memory is a Publisher that keeps every event in memory, in order. It is the
// publisher of a proxy run without a channel, and a test double that is a
// real implementation rather than a mock.
type Memory struct {
	mu     sync.Mutex
	events []schemas.Event
}

var _ Publisher = (*Memory)(nil)

// Publish appends ev.
func (m *Memory) Publish(ev schemas.Event) {
	m.mu.Lock()
	m.events = append(m.events, ev)
	m.mu.Unlock()
}

// Events returns a copy of the events published so far.
func (m *Memory) Events() []schemas.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]schemas.Event(nil), m.events...)
}
