package natsjs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nats.go"
)

// TestRequestCutOffByADisconnect sends a request that a responder never
// answers and stops the server under it: the request must end with
// errConnLost when the connection breaks, not wait out requestTimeout
// (an owner's bus would stall that long). Closing the store ends one too.
func TestRequestCutOffByADisconnect(t *testing.T) {
	t.Run("server stops", func(t *testing.T) {
		testRequestCutOff(t, func(srv *natstest.Server, _ *Store) { srv.Stop() }, errConnLost)
	})
	t.Run("store closes", func(t *testing.T) {
		testRequestCutOff(t, func(_ *natstest.Server, s *Store) { s.Close() }, events.ErrClosed, errConnLost)
	})
}

func testRequestCutOff(t *testing.T, cut func(*natstest.Server, *Store), want ...error) {
	srv := natstest.Start(t, natstest.Options{})
	s, err := Open(context.Background(), Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	silent, err := nats.Connect(srv.URL(), nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	heard := make(chan struct{}, 1)
	if _, err := silent.Subscribe("silent.test", func(*nats.Msg) { heard <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := silent.Flush(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var got error
	go func() {
		defer wg.Done()
		got = s.request(context.Background(), nats.NewMsg("silent.test"), func(*nats.Msg) (bool, error) {
			return true, errors.New("the silent responder answered")
		})
	}()
	<-heard // the request is on the wire and waits
	cut(srv, s)
	wg.Wait()
	for _, w := range want {
		if errors.Is(got, w) {
			return
		}
	}
	t.Fatalf("a request cut off ended with %v, want one of %v", got, want)
}

// TestRepliesGoToTheirRequest runs many requests at once on the one reply
// subscription, each a direct get of a different event: each must get
// its own answer.
func TestRepliesGoToTheirRequest(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 64
	for i := range n {
		msg := nats.NewMsg(s.n.subject("b", "k"))
		if msg.Data, err = encode(schemas.Event{ID: fmt.Sprintf("e%d", i), Bottle: "b", Seq: uint64(i + 1), Kind: "k", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.publish(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.get(ctx, getRequest{Seq: uint64(i + 1), NextFor: s.n.events(), Batch: 1})
			switch {
			case err != nil:
				errs <- err
			case len(got) != 1 || got[0].Pos != uint64(i+1) || got[0].Seq != uint64(i+1):
				errs <- errors.New("a request got another's answer")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.replies.mu.Lock()
	left := len(s.replies.wait)
	s.replies.mu.Unlock()
	if left != 0 {
		t.Errorf("%d requests still registered after they ended", left)
	}
}
