package main

import (
	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tmuxSession runs an interactive launch on a real terminal emulator
// (tmux, on a server of its own), which answers the terminal queries the
// CLIs' TUIs wait on, as a person's terminal would.
type tmuxSession struct {
	t   testing.TB
	dir string // TMUX_TMPDIR: the server's socket lives here
	env []string
}

// interactive starts bot-bottle with args in a 120x40 terminal.
func (e *realE2E) interactive(args ...string) *tmuxSession {
	e.t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		testreq.Missing(e.t, "tmux", err)
	}
	dir, err := os.MkdirTemp("", "bbtmux-")
	must(e.t, err)
	s := &tmuxSession{t: e.t, dir: dir, env: append(append([]string{}, e.env...), "TMUX_TMPDIR="+dir, "TERM=xterm-256color")}
	e.t.Cleanup(func() {
		_ = s.tmux("kill-server")
		os.RemoveAll(dir)
	})
	cmdline := append([]string{"new-session", "-d", "-s", "bb", "-x", "120", "-y", "40", "-c", e.workdir, "--", e.bin}, args...)
	if err := s.tmux(cmdline...); err != nil {
		e.t.Fatalf("tmux new-session: %v", err)
	}
	// Keep the pane when the command ends, so its last screen can be read.
	_ = s.tmux("set-option", "-t", "bb", "remain-on-exit", "on")
	return s
}

func (s *tmuxSession) tmux(args ...string) error {
	cmd := exec.Command("tmux", append([]string{"-f", "/dev/null"}, args...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &tmuxError{args: args, out: string(out), err: err}
	}
	return nil
}

type tmuxError struct {
	args []string
	out  string
	err  error
}

func (e *tmuxError) Error() string {
	return "tmux " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.out
}

// screen returns what the terminal shows now.
func (s *tmuxSession) screen() string {
	cmd := exec.Command("tmux", "-f", "/dev/null", "capture-pane", "-p", "-t", "bb")
	cmd.Env = s.env
	out, _ := cmd.Output()
	return string(out)
}

// waitScreen waits until the screen shows want.
func (s *tmuxSession) waitScreen(want string, within time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it shows:\n%s", want, scr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// keys types keys into the terminal (tmux send-keys syntax).
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if err := s.tmux(append([]string{"send-keys", "-t", "bb"}, keys...)...); err != nil {
		s.t.Fatal(err)
	}
}
