package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// run runs the CLI in this process with the environment env (on top of
// the test's own) and returns stdout, stderr and the exit code.
func run(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	code := Run(args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// farMachine records a running bottle owned on another machine, on the
// shared channel at url, and keeps its lease until the returned stop.
func farMachine(t *testing.T, url, bottle string) (stop func()) {
	t.Helper()
	ctx := context.Background()
	s, err := natsjs.Open(ctx, natsjs.Options{URL: url, LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	life, _ := schemas.NewEvent(bottle, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "far",
		Backend: "local", Owner: 1, Machine: "far-away"})
	denial, _ := schemas.NewEvent(bottle, schemas.KindDenial, schemas.Denial{Host: "pypi.org", Method: "GET", Path: "/x", Reason: "host_not_allowed"})
	if _, err := s.Append(ctx, []schemas.Event{life, denial}); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lctx.Err() == nil {
			s.Lease(lctx, bottle, "1/0@far-away")
			time.Sleep(100 * time.Millisecond)
		}
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// TestPsAndEventsOnASharedChannel lists, from this "machine" (a home of
// its own), a bottle that another machine runs, and its denial; then the
// other machine goes silent and ps says the bottle is lost.
func TestPsAndEventsOnASharedChannel(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	stop := farMachine(t, srv.URL(), "far-1")
	env := map[string]string{"BOT_BOTTLE_HOME": t.TempDir(), envEvents: srv.URL()}

	out, errOut, code := run(t, env, "ps", "--json")
	var list []launcher.Info
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Owner.Machine != "far-away" || list[0].Lost || list[0].Orphaned {
		t.Fatalf("ps --json: exit %d, %s %s; want far-1 running on far-away", code, out, errOut)
	}
	out, _, code = run(t, env, "ps")
	if code != 0 || !strings.Contains(out, "MACHINE") || !strings.Contains(out, "far-away") || strings.Contains(out, "lost") {
		t.Fatalf("ps: exit %d:\n%s", code, out)
	}
	out, errOut, code = run(t, env, "events", "--kind", "denial")
	if code != 0 || !strings.Contains(out, "far-1") || !strings.Contains(out, "pypi.org") {
		t.Fatalf("events --kind denial: exit %d: %s %s", code, out, errOut)
	}

	stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errOut, code = run(t, env, "ps")
		if code != 0 {
			t.Fatalf("ps: exit %d: %s", code, errOut)
		}
		if strings.Contains(out, "lost") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "far-1") || !strings.Contains(out, "lost") || strings.Contains(out, "orphaned") {
		t.Fatalf("ps after the other machine went silent:\n%s", out)
	}
}

// TestChannelRefusals checks the errors at start: each names what is
// wrong and says what to do, with the right exit code, and no password is
// ever printed.
func TestChannelRefusals(t *testing.T) {
	const secret = "pw-cli-Qq93-never-printed"
	srv := natstest.Start(t, natstest.Options{User: "desk", Password: secret})
	noJS := natstest.Start(t, natstest.Options{NoJetStream: true})
	home := t.TempDir()
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		says []string
	}{
		{"not a NATS URL", nil, []string{"ps", "--events", "http://x.test:4222"}, 2, []string{"want nats://HOST:PORT"}},
		{"a password in the URL", nil, []string{"ps", "--events", "nats://desk:" + secret + "@127.0.0.1:1"}, 1, []string{"user or token"}},
		{"no password", nil, []string{"ps", "--events", srv.URL(), "--events-user", "desk"}, 2, []string{"no password in $" + defaultPasswordEnv}},
		{"a wrong password", map[string]string{"MY_NATS_PW": secret + "-wrong"}, []string{"ps", "--events", srv.URL(), "--events-user", "desk", "--events-password-env", "MY_NATS_PW"}, 1,
			[]string{"refused the credentials", "Try:"}},
		{"no credentials", nil, []string{"events", "--events", srv.URL()}, 1, []string{"refused the credentials"}},
		{"no JetStream", nil, []string{"review", "--events", noJS.URL()}, 1, []string{"no JetStream", "nats-server -js"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"BOT_BOTTLE_HOME": home}
			for k, v := range c.env {
				env[k] = v
			}
			out, errOut, code := run(t, env, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d: %s", code, c.code, errOut)
			}
			for _, w := range c.says {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if strings.Contains(out+errOut, secret) {
				t.Errorf("the output holds the password (%d bytes); not printing it", len(secret))
			}
		})
	}
	// The right password, from the variable named.
	_, errOut, code := run(t, map[string]string{"BOT_BOTTLE_HOME": home, "MY_NATS_PW": secret},
		"ps", "--events", srv.URL(), "--events-user", "desk", "--events-password-env", "MY_NATS_PW")
	if code != 0 {
		t.Fatalf("ps with the right password: exit %d: %s", code, errOut)
	}
}
