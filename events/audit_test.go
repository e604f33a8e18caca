package events_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// auditLines reads the audit log's lines as events (gap lines decode too).
func auditLines(t *testing.T, dir string) []schemas.Event {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, events.AuditFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []schemas.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev schemas.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

// auditable returns a mix of events: every third one is of a kind the
// audit log records.
func auditable(t testing.TB, bottle string, i int) schemas.Event {
	switch i % 6 {
	case 0:
		return storetest.Event(t, bottle, schemas.KindDecision, map[string]any{"n": i, "verdict": "approve"})
	case 3:
		return storetest.Event(t, bottle, schemas.KindReload, schemas.Reload{OK: true, Source: "decision", Before: i, After: i + 1})
	case 5: // a time-limited approval ending is a change of what the bottle may reach
		return storetest.Event(t, bottle, schemas.KindRouteExpired, schemas.RouteExpired{ProposalID: fmt.Sprint("p", i), Bottle: bottle, For: "30m"})
	}
	return denial(t, bottle, i)
}

func TestAuditLogRecordsChosenKindsOnceAcrossRestarts(t *testing.T) {
	s := openStore(t, sqlite.Options{})
	dir := filepath.Join(t.TempDir(), "audit")
	var want []string
	appendSome := func(from, to int) {
		var batch []schemas.Event
		for i := from; i < to; i++ {
			ev := auditable(t, "a", i)
			if ev.Kind != schemas.KindDenial {
				want = append(want, ev.ID)
			}
			batch = append(batch, ev)
		}
		if _, err := s.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- events.RunAudit(ctx, s, events.AuditOptions{Dir: dir, Logger: quietLogger()}) }()
		return func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("audit: %v", err)
			}
		}
	}
	appendSome(0, 60)
	stop := run()
	waitFor(t, "the audit log to catch up", func() bool { return len(auditLines(t, dir)) == len(want) })
	stop()
	appendSome(60, 120) // while no writer runs
	stop = run()
	appendSome(120, 180)
	waitFor(t, "the audit log to catch up", func() bool { return len(auditLines(t, dir)) == len(want) })
	stop()

	lines := auditLines(t, dir)
	for i, ev := range lines {
		if ev.ID != want[i] {
			t.Fatalf("audit line %d is %s (%s), want %s", i, ev.ID, ev.Kind, want[i])
		}
		if ev.Seq == 0 || ev.Pos == 0 || ev.Bottle != "a" {
			t.Fatalf("audit line %d lacks seq, pos or bottle: %+v", i, ev)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, events.AuditFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
	if jq, err := exec.LookPath("jq"); err == nil {
		out, err := exec.Command(jq, "-r", `select(.kind == "review.decision") | .payload.verdict`, filepath.Join(dir, events.AuditFile)).Output()
		if err != nil || strings.Count(string(out), "approve\n") != 30 {
			t.Errorf("jq over the audit log: %q, %v; want 30 approvals", out, err)
		}
	}
}

func TestAuditLogCutsATornLineAndRecordsGaps(t *testing.T) {
	s := openStore(t, sqlite.Options{Retain: 10})
	dir := filepath.Join(t.TempDir(), "audit")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, events.AuditFile), []byte(`{"id":"torn","po`), 0o600)
	var batch []schemas.Event
	for range 60 {
		batch = append(batch, storetest.Event(t, "a", schemas.KindReload, schemas.Reload{OK: true, Source: "api"}))
	}
	if _, err := s.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- events.RunAudit(ctx, s, events.AuditOptions{Dir: dir, Logger: quietLogger()}) }()
	waitFor(t, "the audit log", func() bool {
		data, _ := os.ReadFile(filepath.Join(dir, events.AuditFile))
		return bytes.Count(data, []byte("\n")) == 11
	})
	cancel()
	<-done
	lines := auditLines(t, dir)
	if lines[0].Seq != 51 || lines[9].Seq != 60 {
		t.Errorf("audit log holds seqs %d..%d, want the 10 kept (51..60)", lines[0].Seq, lines[9].Seq)
	}
	if lines[10].Kind != events.KindAuditGap {
		t.Errorf("last line is %+v, want the gap", lines[10])
	}
}

// Three processes run the audit writer on one store; the writer is killed
// twice while events are appended; each audited event is in the log
// exactly once, in order.
func TestAuditLogExactlyOnceAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	db, auditDir := filepath.Join(dir, sqlite.FileName), filepath.Join(dir, "audit")
	s, err := sqlite.Open(db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writer := make(chan int, 10)
	var helpers []*helper
	for i := range 3 {
		h := startHelper(t, "audit", db, auditDir)
		helpers = append(helpers, h)
		go func() {
			for {
				line, err := h.stdout.ReadString('\n')
				if err != nil {
					return
				}
				if strings.Contains(line, "role=writer") {
					writer <- i
				}
			}
		}()
	}
	var want []string
	n := 0
	appendSome := func(k int) {
		for range k {
			ev := auditable(t, "a", n)
			n++
			if ev.Kind != schemas.KindDenial {
				want = append(want, ev.ID)
			}
			if _, err := s.Append(context.Background(), []schemas.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
	}
	holder := <-writer
	for range 2 {
		appendSome(300)
		helpers[holder].kill(t)
		select {
		case holder = <-writer:
		case <-time.After(time.Minute):
			t.Fatal("no process took over the audit log")
		}
	}
	appendSome(300)
	// One writer at a time, in pos order: once the last event is in the
	// log, any duplicate would be in it too.
	last := want[len(want)-1]
	waitFor(t, "the audit log to catch up", func() bool {
		data, _ := os.ReadFile(filepath.Join(auditDir, events.AuditFile))
		return bytes.Contains(data, []byte(last))
	})
	lines := auditLines(t, auditDir)
	if len(lines) != len(want) {
		t.Fatalf("audit log has %d lines, want %d", len(lines), len(want))
	}
	for i := range want {
		if lines[i].ID != want[i] {
			t.Fatalf("audit line %d is %s, want %s", i, lines[i].ID, want[i])
		}
	}
}
