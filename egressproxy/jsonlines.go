package egressproxy

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// JSONLines is the standalone sidecar's publisher until events are delivered
// to the control plane: it writes each event as one JSON line to w, from a
// goroutine of its own, so Publish never blocks the proxy. When the writer
// falls more than a buffer behind, events are dropped and counted.
type JSONLines struct {
	ch      chan schemas.Event
	done    chan struct{}
	dropped atomic.Uint64
	once    sync.Once
}

var _ events.Publisher = (*JSONLines)(nil)

// NewJSONLines starts writing published events to w.
func NewJSONLines(w io.Writer) *JSONLines {
	j := &JSONLines{ch: make(chan schemas.Event, 1024), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		enc := json.NewEncoder(w)
		for ev := range j.ch {
			_ = enc.Encode(ev) // a failing sink must not stop the proxy
		}
	}()
	return j
}

// Publish queues ev, or drops it when the queue is full.
func (j *JSONLines) Publish(ev schemas.Event) {
	select {
	case j.ch <- ev:
	default:
		j.dropped.Add(1)
	}
}

// Dropped reports how many events were dropped.
func (j *JSONLines) Dropped() uint64 { return j.dropped.Load() }

// Close writes what is queued and stops. Publish must not be called after.
func (j *JSONLines) Close() {
	j.once.Do(func() { close(j.ch) })
	<-j.done
}
