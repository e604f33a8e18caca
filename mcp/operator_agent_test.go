package mcp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestAgentOverMCP plans and launches a repository agent with bottle_plan
// and bottle_launch: the plan says the agent and its skill came from the
// repository, and the bottle's home holds the prompt (after bot-bottle's
// instructions, between its markers) and the skill, as the bottle's
// command reads them.
func TestAgentOverMCP(t *testing.T) {
	requireLocal(t)
	w := newWorld(t, worldOptions{})
	files := map[string]string{
		filepath.Join(w.home, "bottles", "claude-demo.yaml"):                    "agent_provider: {template: claude, auth_token: TEST_TOKEN}\n",
		filepath.Join(w.workdir, ".bot-bottle", "agents", "rev.md"):             "---\nbottle: claude-demo\nskills: [chk]\n---\nbb-mcp-agent-prompt\n",
		filepath.Join(w.workdir, ".bot-bottle", "skills", "chk", "SKILL.md"):    "---\ndescription: bb-mcp-skill\n---\nsteps\n",
		filepath.Join(w.workdir, ".bot-bottle", "skills", "chk", "ref", "a.md"): "more\n",
	}
	for p, content := range files {
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	c, _ := w.operator()
	plan, text := ok[schemas.Plan](t, c, "bottle_plan", map[string]any{"agent": "rev"})
	if a := plan.Agent; a == nil || a.Origin != schemas.FromRepository || plan.Bottle != "claude-demo" ||
		len(a.Skills) != 1 || a.Skills[0].Origin != schemas.FromRepository || a.Skills[0].Description != "bb-mcp-skill" {
		t.Fatalf("bottle_plan agent: %+v", plan.Agent)
	}
	if !strings.Contains(text, "Agent rev, from the repository "+w.workdir) {
		t.Errorf("bottle_plan text does not say where the agent came from:\n%s", text)
	}
	script := "cat ~/.claude/CLAUDE.md; echo; cat ~/.claude/skills/chk/SKILL.md ~/.claude/skills/chk/ref/a.md; exec sleep 300"
	in, text := ok[mcp.Launched](t, c, "bottle_launch", map[string]any{"agent": "rev", "command": []string{"sh", "-c", script}})
	if in.Name != "claude-demo" || in.Agent == nil || in.Agent.Origin != schemas.FromRepository {
		t.Fatalf("bottle_launch agent: %+v", in)
	}
	if !strings.Contains(text, "from the repository") {
		t.Errorf("bottle_launch text does not say the agent came from the repository: %s", text)
	}
	deadline := time.Now().Add(30 * time.Second)
	var logs mcp.Logs
	for {
		logs, _ = ok[mcp.Logs](t, c, "bottle_logs", map[string]any{"id": in.ID})
		if strings.Contains(logs.Output, "more") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := logs.Output
	ours, begins := strings.Index(out, "# You are working in a bot-bottle"), strings.Index(out, "system prompt begins, sha256 "+in.Agent.Prompt.SHA256)
	prompt, ends := strings.Index(out, "bb-mcp-agent-prompt"), strings.Index(out, "system prompt ends, sha256 "+in.Agent.Prompt.SHA256)
	if ours < 0 || begins < ours || prompt < begins || ends < prompt {
		t.Errorf("CLAUDE.md does not hold bot-bottle's instructions, then the prompt between its markers:\n%s", out)
	}
	if !strings.Contains(out, "description: bb-mcp-skill") || !strings.Contains(out, "more") {
		t.Errorf("the skill's files are not in ~/.claude/skills/chk:\n%s", out)
	}
	w.noSecret("the bottle's output", out)
	ok[mcp.Stopped](t, c, "bottle_stop", map[string]any{"id": in.ID})
}
