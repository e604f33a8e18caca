package clitest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// ownedBottle is a bottle's review side in this test process: a live proxy
// and a review owner on the home's store, registered as running. The CLI
// runs as another process and meets it only on the store.
type ownedBottle struct {
	home  string
	owner *review.Owner
	proxy *egressproxy.Proxy
	bus   *events.Bus
}

const cliBottle = "main-cli001"

func newOwnedBottle(t *testing.T) *ownedBottle {
	t.Helper()
	b := reviewtest.New(t, cliBottle, reviewtest.DefaultManifest)
	// Registered as running, owned by this process, for the CLI's desk.
	self := launcher.Self()
	ev, _ := schemas.NewEvent(cliBottle, schemas.KindLifecycle, schemas.Lifecycle{State: schemas.StateRunning, Name: "main",
		Backend: "local", Owner: self.PID, OwnerStart: self.Start})
	b.Bus.Publish(ev)
	if err := b.Bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &ownedBottle{home: b.Home, owner: b.Owner, proxy: b.Proxy, bus: b.Bus}
}

// ask makes the agent's request in the background.
func (b *ownedBottle) ask(t *testing.T, host string) (chan review.Result, string) {
	t.Helper()
	ch := make(chan review.Result, 1)
	res, err := b.owner.Request(context.Background(), planner.RouteRequest{Host: host, Methods: []string{"GET"}}, "fetch \x1b[2Jdeps", nil, 0)
	if err != nil || res.Status != schemas.ProposalPending {
		t.Fatalf("request: %+v %v", res, err)
	}
	if err := b.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() {
		r, _ := b.owner.Status(context.Background(), res.ProposalID, 30*time.Second)
		ch <- r
	}()
	return ch, res.ProposalID
}

func (b *ownedBottle) cli(stdin io.Reader, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "bot-bottle"), args...)
	cmd.Env = append(os.Environ(), "BOT_BOTTLE_HOME="+b.home)
	cmd.Stdin = stdin
	return cmd
}

func TestReviewCLIApproveDenyAndTwice(t *testing.T) {
	b := newOwnedBottle(t)
	waiting, id := b.ask(t, "pypi.org")
	out, err := b.cli(nil, "review").CombinedOutput()
	if err != nil || !strings.Contains(string(out), id) || !strings.Contains(string(out), "change: new host pypi.org; methods +GET") {
		t.Fatalf("review list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "\x1b") {
		t.Fatal("agent-written control characters reached the operator's terminal")
	}
	out, err = b.cli(nil, "review", "approve", id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "approved "+id) {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	if r := <-waiting; r.Status != schemas.ProposalApproved {
		t.Fatalf("agent got %+v", r)
	}
	out, err = b.cli(nil, "review", "deny", id, "--reason", "no").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already decided") {
		t.Fatalf("second decision: %v\n%s", err, out)
	}
	waiting, id = b.ask(t, "files.example.com")
	if out, err := b.cli(nil, "review", "deny", id).CombinedOutput(); err == nil || !strings.Contains(string(out), "deny needs --reason") {
		t.Fatalf("deny without reason: %v\n%s", err, out)
	}
	if out, err := b.cli(nil, "review", "deny", id, "--reason", "use the mirror").CombinedOutput(); err != nil {
		t.Fatalf("deny: %v\n%s", err, out)
	}
	if r := <-waiting; r.Status != schemas.ProposalDenied || !strings.Contains(r.Notes, "use the mirror") {
		t.Fatalf("agent got %+v", r)
	}
	if out, err := b.cli(nil, "review", "approve", "p-nope").CombinedOutput(); err == nil || !strings.Contains(string(out), "Try: bot-bottle review --all") {
		t.Fatalf("unknown id: %v\n%s", err, out)
	}
}

func TestReviewCLIModifyPersist(t *testing.T) {
	b := newOwnedBottle(t)
	waiting, id := b.ask(t, "pypi.org")
	out, err := b.cli(nil, "review", "modify", id, "--path", "/simple/", "--method", "get", "--persist").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "+    - host: pypi.org") {
		t.Fatalf("modify: %v\n%s", err, out)
	}
	if r := <-waiting; r.Status != schemas.ProposalApproved || r.Route.PathAllowlist[0] != "/simple/" {
		t.Fatalf("agent got %+v", r)
	}
	m, _ := os.ReadFile(filepath.Join(planner.BottlesDir(b.home), "main.yaml"))
	if !strings.Contains(string(m), "path_allowlist: [/simple/]") {
		t.Fatalf("manifest:\n%s", m)
	}
}

func TestReviewCLIInteractive(t *testing.T) {
	b := newOwnedBottle(t)
	first, id1 := b.ask(t, "pypi.org")
	stdinR, stdinW := io.Pipe()
	var out bytes.Buffer
	cmd := b.cli(stdinR)
	cmd.Args = append(cmd.Args, "review", "-i", "--stdin")
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, &out, id1)
	io.WriteString(stdinW, "y\n")
	if r := <-first; r.Status != schemas.ProposalApproved {
		t.Fatalf("first: %+v", r)
	}
	// A proposal made while the operator waits is shown and decided too.
	second, id2 := b.ask(t, "files.example.com")
	waitFor(t, &out, id2)
	io.WriteString(stdinW, "n\nnot today\n")
	if r := <-second; r.Status != schemas.ProposalDenied || !strings.Contains(r.Notes, "not today") {
		t.Fatalf("second: %+v", r)
	}
	stdinW.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("review -i: %v\n%s", err, out.String())
	}
}

// review -i at a pipe, without --stdin, refuses: `yes | review -i` must
// not approve whatever the agents ask.
func TestReviewCLIInteractiveRefusesAPipe(t *testing.T) {
	b := newOwnedBottle(t)
	_, id := b.ask(t, "pypi.org")
	cmd := b.cli(strings.NewReader("y\ny\ny\n"))
	cmd.Args = append(cmd.Args, "review", "-i")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "Error: review -i: stdin is not a terminal") {
		t.Fatalf("review -i at a pipe: %v\n%s", err, out)
	}
	list, err := b.cli(nil, "review").CombinedOutput()
	if err != nil || !strings.Contains(string(list), id+"  pending") {
		t.Fatalf("the proposal was decided: %v\n%s", err, list)
	}
}

// waitFor waits until buf contains s.
func waitFor(t *testing.T, buf *bytes.Buffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		outMu.Lock()
		ok := strings.Contains(buf.String(), s)
		outMu.Unlock()
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	outMu.Lock()
	defer outMu.Unlock()
	t.Fatalf("no %q in output:\n%s", s, buf.String())
}

// TestReviewCLIShowsHostileTextAsData: a justification with terminal
// escapes, OSC 52, a forged line and a bidi override reaches `review` and
// `review -i` as the agent's quoted words on one labelled line.
func TestReviewCLIShowsHostileTextAsData(t *testing.T) {
	b := newOwnedBottle(t)
	res, err := b.owner.Request(context.Background(), planner.RouteRequest{Host: "pypi.org"}, reviewtest.Hostile, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := b.cli(nil, "review").CombinedOutput()
	if err != nil {
		t.Fatalf("review: %v\n%s", err, out)
	}
	reviewtest.CheckShown(t, "review", string(out))
	var labelled bool
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, reviewtest.HostileMarker) {
			labelled = strings.HasPrefix(l, "  the agent's justification: «need the index") && strings.HasSuffix(l, "»")
		}
	}
	if !labelled {
		t.Fatalf("the justification is not on its labelled, quoted line:\n%s", out)
	}
	var buf bytes.Buffer
	cmd := b.cli(strings.NewReader("s\n"))
	cmd.Args = append(cmd.Args, "review", "-i", "--stdin")
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &buf}, &syncWriter{w: &buf}
	if err := cmd.Run(); err != nil {
		t.Fatalf("review -i: %v\n%s", err, buf.String())
	}
	if !strings.Contains(buf.String(), res.ProposalID) {
		t.Fatalf("review -i did not show the proposal:\n%s", buf.String())
	}
	reviewtest.CheckShown(t, "review -i", buf.String())
	t.Logf("review shows:\n%s", out)
}

// review approve and modify --for: a time limit on a once-approval, shown
// with its absolute end; bad values and --persist are refused naming --for.
func TestReviewCLITimeLimit(t *testing.T) {
	b := newOwnedBottle(t)
	waiting, id := b.ask(t, "pypi.org")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--for", "-5m"}, `--for "-5m" must be positive`},
		{[]string{"--for", "0"}, `--for "0" must be positive`},
		{[]string{"--for", "soon"}, `--for "soon" is not a duration`},
		{[]string{"--for", "48h"}, `--for "48h" is longer than 24h`},
		{[]string{"--for", ""}, `--for is empty`},
		{[]string{"--for", "30m", "--persist"}, "a route written into the manifest has no lifetime"},
	} {
		out, err := b.cli(nil, append([]string{"review", "approve", id}, c.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("approve %v: %v, want %q in\n%s", c.args, err, c.want, out)
		}
	}
	out, err := b.cli(nil, "review", "modify", id, "--method", "get", "--for", "30m").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "time limit: for 30m, until 20") {
		t.Fatalf("modify --for 30m: %v\n%s", err, out)
	}
	if r := <-waiting; r.Status != schemas.ProposalApproved || !strings.Contains(r.Notes, "approved for 30m, until") {
		t.Fatalf("agent got %+v", r)
	}
	out, err = b.cli(nil, "review", "--all").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "time limit: for 30m, until 20") {
		t.Fatalf("review --all does not show the limit: %v\n%s", err, out)
	}
}
