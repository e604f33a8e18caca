package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestDoctorOnAChannel runs doctor against a NATS channel: an empty
// server is fine and doctor makes nothing there; a channel in use is
// fine; a server without JetStream, and a stream made by hand with a
// stream-wide age limit, fail with what to do.
func TestDoctorOnAChannel(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	env := map[string]string{"BOT_BOTTLE_HOME": t.TempDir(), envEvents: srv.URL()}
	out, errOut, code := run(t, env, "doctor")
	if code != 0 || !strings.Contains(out, "JetStream") || strings.Count(out, "not made yet") != 2 || !strings.Contains(out, "no undelivered events") {
		t.Fatalf("doctor on an empty server: exit %d:\n%s%s", code, out, errOut)
	}
	out, _, _ = run(t, env, "doctor")
	if strings.Count(out, "not made yet") != 2 {
		t.Fatalf("the first doctor made something on the server:\n%s", out)
	}
	farMachine(t, srv.URL(), "far-1")
	out, errOut, code = run(t, env, "doctor")
	t.Logf("doctor on a channel in use:\n%s", out)
	if code != 0 || !strings.Contains(out, "ok    stream  BOTBOTTLE_EVENTS: 2 events") || !strings.Contains(out, "ok    bucket  BOTBOTTLE_OWNERS") {
		t.Fatalf("doctor on a channel in use: exit %d:\n%s%s", code, out, errOut)
	}

	noJS := natstest.Start(t, natstest.Options{NoJetStream: true})
	out, _, code = run(t, env, "doctor", "--events", noJS.URL())
	if code != 1 || !strings.Contains(out, "FAIL  server") || !strings.Contains(out, "Try: start the server with JetStream") {
		t.Fatalf("doctor on a server without JetStream: exit %d:\n%s", code, out)
	}

	hand := natstest.Start(t, natstest.Options{})
	nc, err := nats.Connect(hand.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "BOTBOTTLE_EVENTS", Subjects: []string{"botbottle.ev.>"},
		MaxAge: 24 * time.Hour, AllowDirect: true, Duplicates: time.Hour}); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, env, "doctor", "--events", hand.URL())
	t.Logf("doctor on a stream made by hand:\n%s", out)
	if code != 1 || !strings.Contains(out, "FAIL  stream") || !strings.Contains(out, "stream-wide limit") || !strings.Contains(out, "Try:") {
		t.Fatalf("doctor on a stream made by hand with an age limit: exit %d:\n%s", code, out)
	}
}
