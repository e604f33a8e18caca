package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/creack/pty"
)

// TestLaunchInteractive runs launch on a terminal, as a person would: the
// command must get a terminal of its own, sized like the outer one and
// controlling it (/dev/tty, ^C), read what is typed, and its exit code
// must come back.
func TestLaunchInteractive(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			cmd := e.command(e.launchArgs("sh", "-c",
				`[ -t 0 ] && [ -t 1 ] && echo "tty=yes"; (: </dev/tty) 2>/dev/null && echo "ctty=yes"; echo "size=$(stty size)"; echo "term=$TERM"
trap 'echo got-int; stop=1' INT; echo armed; while [ -z "$stop" ]; do sleep 0.2; done; trap - INT
trap 'echo "winch=$(stty size)"; stop=' WINCH; echo resize; while [ -n "$stop" ]; do sleep 0.2; done; trap - WINCH
echo prompt; read line; echo "got:$line"; exit 3`)...)
			cmd.Env = append(cmd.Env, "TERM=xterm-test")
			ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 41, Cols: 103})
			must(t, err)
			defer ptmx.Close()
			var mu sync.Mutex
			var out bytes.Buffer
			saw := make(chan struct{}, 64)
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := ptmx.Read(buf)
					mu.Lock()
					out.Write(buf[:n])
					mu.Unlock()
					saw <- struct{}{}
					if err != nil {
						close(saw)
						return
					}
				}
			}()
			text := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
			waitText := func(want string) {
				t.Helper()
				deadline := time.After(2 * time.Minute)
				for !strings.Contains(text(), want) {
					select {
					case _, ok := <-saw:
						if !ok && !strings.Contains(text(), want) {
							t.Fatalf("terminal closed before %q; output %q", want, text())
						}
					case <-deadline:
						t.Fatalf("timed out waiting for %q; output %q", want, text())
					}
				}
			}
			// ^C is the terminal's: it interrupts the command's
			// foreground group, which traps it.
			waitText("armed")
			_, err = io.WriteString(ptmx, "\x03")
			must(t, err)
			waitText("got-int")
			// A resize of the outer terminal follows into the bottle.
			waitText("resize")
			must(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 37, Cols: 91}))
			waitText("winch=37 91")
			waitText("prompt")
			_, err = io.WriteString(ptmx, "hello bottle\r")
			must(t, err)
			waitText("got:hello bottle")
			err = cmd.Wait()
			code := 0
			if err != nil {
				code = cmd.ProcessState.ExitCode()
			}
			s := text()
			t.Logf("terminal:\n%s", s)
			if code != 3 {
				t.Errorf("exit code %d, want 3", code)
			}
			for _, want := range []string{"tty=yes", "ctty=yes", "size=41 103", "term=xterm-test"} {
				if want == "ctty=yes" && e.runtime == schemas.RuntimeRunsc {
					continue // gVisor's /dev/tty answers EIO to everyone (launcher/docker/doc.go)
				}
				if !strings.Contains(s, want) {
					t.Errorf("terminal output lacks %q", want)
				}
			}
		})
	}
}
