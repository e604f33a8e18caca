package events_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
)

// The tests re-execute their own binary as helper processes: a control
// plane to kill, a second process writing the same store.
const helperEnv = "EVENTS_TEST_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(role, os.Args[len(os.Args)-2:]); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

func startHelper(t testing.TB, role string, args ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &helper{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(out)}
}

func (h *helper) expect(t testing.TB, want string) string {
	t.Helper()
	line, err := h.stdout.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, want) {
		t.Fatalf("helper said %q (%v), want %q", line, err, want)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, want))
}

// kill ends the helper with SIGKILL and waits for it.
func (h *helper) kill(t testing.TB) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
}

func runHelper(role string, args []string) error {
	switch role {
	case "control-plane":
		return serveControlPlane(args[0], args[1])
	case "audit":
		return runAuditHelper(args[0], args[1])
	}
	return fmt.Errorf("unknown role %q", role)
}

// serveControlPlane owns the store at db and takes sidecars' batches on
// sock until it is killed.
func serveControlPlane(db, sock string) error {
	s, err := sqlite.Open(db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := events.ListenControl(sock)
	if err != nil {
		return err
	}
	fmt.Println("serving")
	return http.Serve(l, events.NewHandler(s, events.HandlerOptions{}))
}

// runAuditHelper runs the audit log writer of the store at db into dir,
// saying "writer" on stdout when it takes over, until it is killed.
func runAuditHelper(db, dir string) error {
	s, err := sqlite.Open(db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.MessageKey && strings.Contains(a.Value.String(), "is the writer") {
				return slog.String("role", "writer")
			}
			return a
		},
	}))
	return events.RunAudit(context.Background(), s, events.AuditOptions{Dir: dir, RetryLock: 10 * time.Millisecond, Logger: log})
}
