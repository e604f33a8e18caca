package mcp

import (
	"context"
	"fmt"
	"sync"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Bounds of what bottle_launch keeps of a headless run's output: the end
// of it, where the agent's answer is.
const (
	maxPromptOutput = 256 << 10
	maxPromptStderr = 64 << 10
	maxPromptChars  = 100 << 10
)

// Launched is bottle_launch's result: the bottle and, for a prompt, what
// the agent printed (stdout; its progress on stderr) and its exit code
// (in the bottle's exit_code once it has ended).
type Launched struct {
	launcher.Info
	// Agent is the agent the bottle runs (launch with agent): where it,
	// its prompt and its skills came from.
	Agent     *schemas.AgentPlan `json:"agent,omitempty"`
	Output    string             `json:"output,omitempty"`
	Stderr    string             `json:"stderr,omitempty"`
	Truncated bool               `json:"truncated,omitempty"`
}

// awaitPrompt waits for a headless run to end and returns its output. If
// the call ends first (the client gave up), the bottle runs on: its id is
// in the result, for bottle_logs and bottle_stop.
func awaitPrompt(ctx context.Context, b *launcher.Bottle, out, errOut *tailBuffer) (Launched, string, error) {
	code, err := b.Wait(ctx)
	res := Launched{Info: b.Info(), Agent: b.Plan().Agent, Output: out.String(), Stderr: errOut.String(), Truncated: out.Truncated() || errOut.Truncated()}
	if err != nil {
		return res, fmt.Sprintf("bottle %s still runs the prompt (%v); bottle_logs and bottle_stop take its id", res.ID, err), nil
	}
	if res.ExitCode == nil {
		res.ExitCode = &code
	}
	text := fmt.Sprintf("bottle %s ran the prompt and exited %d; its output:\n%s", res.ID, code, res.Output)
	if n := planner.AgentNotice(b.Plan()); n != "" {
		text = n + "\n" + text
	}
	if res.Truncated {
		text += "\n(output truncated: only its end is kept)"
	}
	return res, text, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Truncated reports whether anything was dropped.
func (t *tailBuffer) Truncated() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.truncated
}
