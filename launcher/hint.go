package launcher

import (
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// agentCLIs names the program each provider template runs and how a
// person gets it.
var agentCLIs = map[string]struct{ program, product, npm, image string }{
	schemas.TemplateClaude: {"claude", "Claude Code", "@anthropic-ai/claude-code", "images/claude"},
	schemas.TemplateCodex:  {"codex", "Codex", "@openai/codex", "images/codex"},
}

// notFoundHint is what the init says, after "command X: not found", when
// the bottle's command is its provider's agent CLI: where a bottle of this
// backend looks for it, and what to install or which image to set.
func notFoundHint(plan *schemas.Plan, backend string, command []string) string {
	if plan == nil || plan.Provider == nil || len(command) == 0 {
		return ""
	}
	cli, ok := agentCLIs[plan.Provider.Template]
	if !ok || filepath.Base(command[0]) != cli.program {
		return ""
	}
	if backend == "docker" {
		img := plan.Provider.Image
		if img == "" {
			img = "the default image"
		}
		return cli.product + " (" + cli.program + ") is not in " + img + ": set agent_provider.image to an image that has it " +
			"(" + cli.image + "/Dockerfile in the bot-bottle repository builds one), or run the bottle with --backend local"
	}
	return cli.product + " (" + cli.program + ") is not installed where a local bottle can see it: the bottle runs the host's " +
		"programs, but not from your home or /tmp, which it hides. Install it system-wide (npm install -g " + cli.npm +
		" with npm's prefix outside your home, e.g. /usr/local), or use --backend docker with agent_provider.image set"
}
