package natsjs_test

import (
	"context"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
)

// TestLeasesExpire checks that an entry refreshed stays and one left
// alone lapses after the TTL, as a crashed machine's bottles must.
func TestLeasesExpire(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	s, err := open(t, natsjs.Options{URL: srv.URL(), LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, b := range []string{"kept", "crashed", "odd.id*>", "ended"} {
		if err := s.Lease(ctx, b, "1/2@m"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release(ctx, "ended"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Leased(ctx)
	if err != nil || !got["kept"] || !got["crashed"] || !got["odd.id*>"] || got["ended"] {
		t.Fatalf("leases: %v, %v; want kept, crashed and odd.id*> (not ended)", got, err)
	}
	if held, err := s.Held(ctx, "odd.id*>"); err != nil || !held {
		t.Errorf("held odd.id*>: %v, %v", held, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := s.Lease(ctx, "kept", "1/2@m"); err != nil {
			t.Fatal(err)
		}
		got, err = s.Leased(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !got["crashed"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got["crashed"] || !got["kept"] {
		t.Fatalf("after the TTL: %v; want only kept", got)
	}
	for b, want := range map[string]bool{"kept": true, "crashed": false, "ended": false, "never": false} {
		if held, err := s.Held(ctx, b); err != nil || held != want {
			t.Errorf("held %s: %v, %v; want %v", b, held, err, want)
		}
	}
}
