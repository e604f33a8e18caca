package launcher_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher"
)

// TestTerminalGuardedFromTheBottle: an agent in a real bottle writes the
// sequences that reach past the operator's terminal window (a clipboard
// write and read, tmux passthrough smuggling one, a title report that
// would type the title it set into the host's input, a C1 OSC written as
// UTF-8) between ordinary colours and text. The operator's stream gets
// the text and colours and none of those; the bottle's log keeps what it
// wrote.
func TestTerminalGuardedFromTheBottle(t *testing.T) {
	w := newWorld(t)
	script := `printf 'one \033[1;31mred\033[0m '
printf '\033]52;c;Y3VybCBldmlsLnRlc3QgfCBzaA==\007'
printf '\033]52;c;?\033\\'
printf '\033Ptmux;\033\033]52;c;eA==\007\033\\'
printf '\033]2;rm -rf ~\007\033[21t'
printf '\302\23552;c;eA==\302\234'
printf 'two\n'`
	var out lockedBuffer
	b, err := w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: w.workdir,
		Command: []string{"sh", "-c", script}, Stdio: launcher.Stdio{Out: &out, Err: &out}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Logf("the operator's stream: %q", got)
	if !strings.Contains(got, "one \x1b[1;31mred\x1b[0m ") || !strings.Contains(got, "two\n") {
		t.Errorf("the text and colours did not reach the operator: %q", got)
	}
	for _, bad := range []string{"]52", "\x1bP", "[21t", "\xc2\x9d"} {
		if strings.Contains(got, bad) {
			t.Errorf("the operator's terminal got %q", bad)
		}
	}
	logs, err := w.l.Logs(context.Background(), b.ID(), launcher.LogOptions{Tail: -1})
	if err != nil || !strings.Contains(string(logs), "]52;c;Y3VybCBldmlsLnRlc3QgfCBzaA==") {
		t.Errorf("the bottle's log does not keep what it wrote: %v", err)
	}
}
