package natsjs_test

import (
	"context"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
)

// TestContract runs the store contract that SQLite passes against a real
// NATS server, each case on a stream of its own (a prefix of its own).
func TestContract(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	n := 0
	storetest.Run(t, func(t *testing.T) events.Store {
		n++
		s, err := natsjs.Open(context.Background(), natsjs.Options{URL: srv.URL(), Prefix: prefixFor(n)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
