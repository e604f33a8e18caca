package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// seedEvents stores denials and a lifecycle event in a fresh home and
// returns the home and what was stored.
func seedEvents(t *testing.T) (string, []schemas.Event) {
	t.Helper()
	home := t.TempDir()
	s, err := sqlite.Open(filepath.Join(home, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var evs []schemas.Event
	for i, b := range []string{"alpha", "beta", "alpha"} {
		ev, err := schemas.NewEvent(b, schemas.KindDenial, schemas.Denial{ID: "d" + string(rune('0'+i)), Host: "pypi.org", Method: "GET", Path: "/simple/?token=SECRET", Reason: "host_not_allowed"})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	life, _ := schemas.NewEvent("alpha", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "example", Backend: "local"})
	stored, err := s.Append(context.Background(), append(evs, life))
	if err != nil {
		t.Fatal(err)
	}
	return home, stored
}

func runEvents(t *testing.T, home string, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("BOT_BOTTLE_HOME", home)
	var stdout, stderr bytes.Buffer
	code := Run(append([]string{"events"}, args...), strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func TestEventsPrintsForPeopleAndPrograms(t *testing.T) {
	home, stored := seedEvents(t)
	out, errOut, code := runEvents(t, home)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got:\n%s", out)
	}
	for _, want := range []string{"alpha  #1  egress.denial  GET pypi.org/simple/?[redacted] denied: host_not_allowed (d0)", "beta  #1", "alpha  #2", "alpha  #3  bottle.lifecycle  running example backend=local"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Error("a query string value reached the output")
	}

	out, _, code = runEvents(t, home, "--json", "--bottle", "alpha", "--since", "1")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []schemas.Event
	for dec.More() {
		var ev schemas.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("--json output %q: %v", out, err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].ID != stored[2].ID || got[0].Seq != 2 || got[1].ID != stored[3].ID || got[0].Pos == 0 {
		t.Errorf("--bottle alpha --since 1: %+v, want alpha's seqs 2 and 3 with their positions", got)
	}

	out, _, _ = runEvents(t, home, "--json", "--since", "2")
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("--since 2 (a global position) printed %d events, want 2", n)
	}
}

func TestEventsWithoutAStoreCreatesNothing(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	out, errOut, code := runEvents(t, home)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("exit %d, %q, %q", code, out, errOut)
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("reading events created %s", home)
	}
}

func TestEventsOnABrokenStoreSaysWhatToDo(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, sqlite.FileName)
	os.WriteFile(path, bytes.Repeat([]byte("garbage "), 100), 0o600)
	_, errOut, code := runEvents(t, home)
	if code != 1 || !strings.Contains(errOut, "Error: open event store "+path) || !strings.Contains(errOut, "Try: nothing was written to it; move it aside") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

// `bot-bottle events --follow` in its own process prints what another
// process stores, as it is stored, and exits 0 on SIGINT.
func TestEventsFollowAcrossProcesses(t *testing.T) {
	home, _ := seedEvents(t)
	cmd := exec.Command(botBottle(t), "events", "--follow", "--bottle", "alpha", "--since", "2")
	cmd.Env = append(os.Environ(), "BOT_BOTTLE_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("events --follow ended: %v; stderr: %s", lines.Err(), stderr.String())
		}
		return lines.Text()
	}
	if l := next(); !strings.Contains(l, "#3") || !strings.Contains(l, "running example") {
		t.Fatalf("first line %q, want alpha's seq 3", l)
	}
	s, err := sqlite.Open(filepath.Join(home, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, _ := schemas.NewEvent("alpha", schemas.KindReload, schemas.Reload{OK: true, Source: "decision", Before: 3, After: 4})
	other, _ := schemas.NewEvent("beta", schemas.KindReload, schemas.Reload{OK: true, Source: "api"})
	if _, err := s.Append(context.Background(), []schemas.Event{other, ev}); err != nil {
		t.Fatal(err)
	}
	if l := next(); !strings.Contains(l, "alpha  #4  egress.reload  routes reloaded (decision): 3 -> 4 routes") {
		t.Fatalf("followed line %q", l)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("events --follow after SIGINT: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("events --follow did not end on SIGINT")
	}
}

// --kind and --host select through the store's indexes: the newest --last
// matches, oldest first; a name after the dot is enough.
func TestEventsSelectsByKindAndHost(t *testing.T) {
	home := t.TempDir()
	s, err := sqlite.Open(filepath.Join(home, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []schemas.Event
	for i, h := range []string{"pypi.org", "PyPI.org.", "npmjs.org", "pypi.org"} {
		ev, _ := schemas.NewEvent("alpha", schemas.KindDenial, schemas.Denial{ID: fmt.Sprint("d", i), Host: h, Method: "GET", Path: "/", Reason: "host_not_allowed"})
		evs = append(evs, ev)
	}
	prop, _ := schemas.NewEvent("beta", schemas.KindProposal, schemas.Proposal{ID: "p0", Host: "pypi.org", Delta: "new host pypi.org"})
	life, _ := schemas.NewEvent("alpha", schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning})
	if _, err := s.Append(context.Background(), append(evs, prop, life)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out, errOut, code := runEvents(t, home, "--host", "pypi.org")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := strings.Count(out, "\n"); got != 4 || !strings.Contains(out, "(d0)") || strings.Contains(out, "npmjs") ||
		!strings.Contains(out, "review.proposal") || strings.Index(out, "(d0)") > strings.Index(out, "(d3)") {
		t.Errorf("--host pypi.org: want the 3 denials and the proposal about it, oldest first:\n%s", out)
	}
	out, errOut, _ = runEvents(t, home, "--kind", "denial", "--host", "pypi.org", "--last", "2")
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "(d1)") || !strings.Contains(out, "(d3)") || !strings.Contains(errOut, "older events match") {
		t.Errorf("--last 2: want d1 and d3, and a word about older ones:\n%s%s", out, errOut)
	}
	out, _, _ = runEvents(t, home, "--kind", "bottle.lifecycle", "--bottle", "alpha")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "running") {
		t.Errorf("--kind bottle.lifecycle --bottle alpha:\n%s", out)
	}
	for _, bad := range [][]string{{"--kind", "nonsense"}, {"--kind", "denial", "--since", "3"}, {"--last", "3"}, {"--host", "x.org", "--last", "0"}} {
		if _, errOut, code := runEvents(t, home, bad...); code != 2 {
			t.Errorf("events %v: exit %d (%s), want a usage error", bad, code, errOut)
		}
	}
}
