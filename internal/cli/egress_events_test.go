package cli

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A standalone sidecar started while its control plane is away spools its
// denials and delivers them once the control plane listens.
func TestEgressDeliversEventsToTheControlPlane(t *testing.T) {
	dir := t.TempDir()
	caDir, routes := filepath.Join(dir, "ca"), filepath.Join(dir, "routes.yaml")
	if out, err := exec.Command(egressBinary(t), "ca", "init", caDir).CombinedOutput(); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	writeRoutes(t, routes, "allowed.test")
	sock := filepath.Join(dir, "control.sock")
	s := startSidecar(t, []string{"PATH=" + os.Getenv("PATH")}, "--routes", routes, "--ca", caDir, "--bottle", "sc2",
		"--events", events.UnixScheme+sock, "--spool", filepath.Join(dir, "spool"))
	if code, body := s.get(t, "http://blocked.test/x?token=abc"); code != 403 || !strings.Contains(body, "host_not_allowed") {
		t.Fatalf("blocked.test: %d %s", code, body)
	}

	store, err := sqlite.Open(filepath.Join(dir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, err := events.ListenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: events.NewHandler(store, events.HandlerOptions{Bottle: "sc2"})}
	go srv.Serve(l)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got schemas.Event
	errFound := errors.New("found")
	err = store.Follow(ctx, events.AfterSeq("sc2", 0), func(p events.Page) error {
		for _, ev := range p.Events {
			if ev.Kind == schemas.KindDenial {
				got = ev
				return errFound
			}
		}
		return nil
	})
	if !errors.Is(err, errFound) {
		t.Fatalf("no denial reached the control plane: %v\n%s", err, s.log())
	}
	var d schemas.Denial
	if err := got.Decode(&d); err != nil || d.Host != "blocked.test" || d.Bottle != "sc2" || strings.Contains(string(got.Payload), "abc") {
		t.Fatalf("denial %s (%v)", got.Payload, err)
	}
}

func TestEgressEventsFlags(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.yaml")
	writeRoutes(t, routes, "allowed.test")
	if out, err := exec.Command(egressBinary(t), "ca", "init", dir).CombinedOutput(); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	for args, want := range map[string]string{
		"--events unix:" + dir + "/c.sock":                    "needs --spool DIR",
		"--events " + dir + "/e.jsonl --spool " + dir + "/sp": "--spool is for --events unix:PATH",
	} {
		cmd := exec.Command(egressBinary(t), append([]string{"egress", "--routes", routes, "--ca", dir, "--listen", "127.0.0.1:0"}, strings.Fields(args)...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), want) {
			t.Errorf("egress %s: %v\n%s", args, err, out)
		}
	}
}
