package natsjs_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestSidecarForwarderDeliversToTheChannel is a standalone sidecar on the
// shared channel: its forwarder spools every event to disk and delivers
// the spool to NATS itself. The server goes away mid-run and a new
// forwarder takes over the spool (a restarted sidecar): every denial is
// stored once, and a kind a sidecar may not publish (a decision) is
// refused, as the control plane's handler refuses it.
func TestSidecarForwarderDeliversToTheChannel(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := open(t, natsjs.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(t.TempDir(), "spool")
	newForwarder := func() *events.Forwarder {
		f, err := events.NewForwarder(events.ForwarderOptions{SpoolDir: spool, Store: s, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := newForwarder()
	denial := func(i int) schemas.Event {
		return storetest.Event(t, "side", schemas.KindDenial, schemas.Denial{Host: "x.test", Method: "GET", Path: "/", Reason: "host_not_allowed", ID: string(rune('a' + i))})
	}
	for i := range 5 {
		f.Publish(denial(i))
	}
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for i := 5; i < 15; i++ {
		f.Publish(denial(i))
	}
	forged := storetest.Event(t, "side", schemas.KindDecision, schemas.Decision{ProposalID: "p1", Action: schemas.ActionApprove})
	f.Publish(forged)
	shortCtx, shortCancel := context.WithTimeout(ctx, 300*time.Millisecond)
	f.Close(shortCtx) // the sidecar stops with events in its spool
	shortCancel()
	srv.Start()
	f = newForwarder() // restarted: resumes from the spool
	if err := f.Flush(ctx); err != nil {
		t.Fatalf("flush the spool after the restart: %v", err)
	}
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	all := readWhenBack(t, s, 15)
	if len(all) != 15 {
		t.Fatalf("stored %d events, want the 15 denials", len(all))
	}
	storetest.CheckGapless(t, all)
	for _, ev := range all {
		if ev.Kind != schemas.KindDenial {
			t.Errorf("a sidecar stored a %s", ev.Kind)
		}
	}
}
