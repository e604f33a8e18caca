package natsjs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// finding returns the finding about what, failing t when there is none.
func finding(t *testing.T, fs []natsjs.Finding, what string) natsjs.Finding {
	t.Helper()
	for _, f := range fs {
		if f.What == what {
			return f
		}
	}
	t.Fatalf("no finding about %s in %+v", what, fs)
	return natsjs.Finding{}
}

// TestInspect checks a channel as doctor does: a server where nothing is
// made yet is fine (and Inspect makes nothing), a channel a Store made is
// fine, and a stream and bucket made by hand against the package doc fail,
// naming what is wrong.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t, natstest.Options{})
	o := natsjs.Options{URL: srv.URL()}
	if _, err := natsjs.Inspect(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := natsjs.Open(ctx, natsjs.Options{URL: srv.URL(), NoCreate: true}); !errors.Is(err, natsjs.ErrNotMade) {
		t.Errorf("open without making, on an empty server: %v, want ErrNotMade", err)
	}
	fs, err := natsjs.Inspect(ctx, o) // neither made anything
	if err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"server", "stream", "bucket"} {
		if f := finding(t, fs, what); f.Failed || f.Warn {
			t.Errorf("an empty server: %+v", f)
		}
	}
	for _, what := range []string{"stream", "bucket"} {
		if !strings.Contains(finding(t, fs, what).Detail, "not made yet") {
			t.Errorf("an empty server's %s: %+v", what, finding(t, fs, what))
		}
	}
	s, err := open(t, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fs, err = natsjs.Inspect(ctx, o); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"stream", "bucket"} {
		if f := finding(t, fs, what); f.Failed || f.Warn || strings.Contains(f.Detail, "not made") {
			t.Errorf("a channel a store made: %+v", f)
		}
	}

	// By hand, wrongly: a stream-wide age limit, no direct get, no
	// doorbell; a bucket whose entries never expire.
	js := rawJetStream(t, srv.URL())
	bad := natsjs.Options{URL: srv.URL(), Prefix: "hand"}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "HAND_EVENTS", Subjects: []string{"hand.ev.>"}, MaxAge: time.Hour, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "HAND_OWNERS"}); err != nil {
		t.Fatal(err)
	}
	if fs, err = natsjs.Inspect(ctx, bad); err != nil {
		t.Fatal(err)
	}
	st := finding(t, fs, "stream")
	for _, says := range []string{"stream-wide limit", "direct get is off", "republish"} {
		if !st.Failed || !strings.Contains(st.Detail, says) {
			t.Errorf("a stream made by hand: %+v; want a failure that says %q", st, says)
		}
	}
	if b := finding(t, fs, "bucket"); !b.Failed || !strings.Contains(b.Detail, "never expire") {
		t.Errorf("a bucket without a TTL: %+v", b)
	}

	noJS := natstest.Start(t, natstest.Options{NoJetStream: true})
	if _, err := natsjs.Inspect(ctx, natsjs.Options{URL: noJS.URL()}); !errors.Is(err, natsjs.ErrNoJetStream) {
		t.Errorf("a server without JetStream: %v, want ErrNoJetStream", err)
	}
}
