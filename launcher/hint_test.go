package launcher

import (
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestNotFoundHint(t *testing.T) {
	claude := &schemas.Plan{Provider: &schemas.ProviderPlan{Template: schemas.TemplateClaude}}
	codexImg := &schemas.Plan{Provider: &schemas.ProviderPlan{Template: schemas.TemplateCodex, Image: "my/codex:1"}}
	for _, c := range []struct {
		plan    *schemas.Plan
		backend string
		command []string
		want    string // "" for no hint
	}{
		{claude, "local", []string{"claude"}, "npm install -g @anthropic-ai/claude-code"},
		{claude, "local", []string{"/usr/local/bin/claude", "-p", "x"}, "not installed where a local bottle can see it"},
		{claude, "docker", []string{"claude"}, "is not in the default image: set agent_provider.image"},
		{codexImg, "docker", []string{"codex", "exec"}, "Codex (codex) is not in my/codex:1"},
		{claude, "local", []string{"sh"}, ""}, // a command of the person's own: no agent hint
		{&schemas.Plan{}, "local", []string{"claude"}, ""},
	} {
		got := notFoundHint(c.plan, c.backend, c.command)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v on %s: hint %q, want %q", c.command, c.backend, got, c.want)
		}
	}
}
