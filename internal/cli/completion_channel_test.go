package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
)

// TestCompletionOnAChannel completes bottle ids from a NATS channel (a
// bottle another machine runs), and makes nothing on a server where the
// channel is not made yet.
func TestCompletionOnAChannel(t *testing.T) {
	empty := natstest.Start(t, natstest.Options{})
	env := map[string]string{"BOT_BOTTLE_HOME": t.TempDir(), envEvents: empty.URL()}
	out, _, code := run(t, env, "__complete", "stop", "")
	if code != 0 || strings.Contains(out, "far") {
		t.Fatalf("completion on an empty server: exit %d:\n%s", code, out)
	}
	found, err := natsjs.Inspect(context.Background(), natsjs.Options{URL: empty.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if f.What != "server" && !strings.Contains(f.Detail, "not made yet") {
			t.Errorf("completion made the %s: %s", f.What, f.Detail)
		}
	}

	srv := natstest.Start(t, natstest.Options{})
	farMachine(t, srv.URL(), "far-1")
	env[envEvents] = srv.URL()
	out, _, code = run(t, env, "__complete", "stop", "")
	if code != 0 || !strings.Contains(out, "far-1\tfar running") {
		t.Fatalf("completion of a bottle another machine runs: exit %d:\n%s", code, out)
	}
}
