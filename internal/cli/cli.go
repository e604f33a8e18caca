package cli

import (
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/planner"
	"golang.org/x/term"
)

// cli carries what every command needs from the process: its streams, its
// environment as a map (the packages never read os.Environ themselves) and
// its working directory.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            map[string]string
	workDir        string
}

func newCLI(stdin io.Reader, stdout, stderr io.Writer) *cli {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	wd, _ := os.Getwd()
	return &cli{stdin: stdin, stdout: stdout, stderr: stderr, env: env, workDir: wd}
}

func (c *cli) planner() (*planner.Planner, error) {
	p, err := planner.New(c.env, c.workDir)
	if err == nil && runtime.GOOS == "linux" {
		p.HostCheck = netns.PlanWarnings // what the local backend cannot enforce here
	}
	return p, err
}

// hintError attaches a "Try:" line to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

// usageError marks an error as a misuse of the command line (exit code 2),
// with an optional "Try:" line.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// exitError ends the process with code, printing err when it is not nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return "exit"
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
