package planner

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// maxPromptBytes bounds a headless prompt: it travels as one argument, and
// Linux refuses a single argument over 128 KiB.
const maxPromptBytes = 100 << 10

// Flags that make each CLI run a prompt unattended in a bottle. The bottle
// is the sandbox, so neither CLI asks a person for approval nor wraps its
// commands in a sandbox of its own (which would also cut them off from the
// proxy):
//   - claude -p prints the answer and exits; --dangerously-skip-permissions
//     approves every tool call (IS_SANDBOX=1, set by the template, lets it
//     run as root);
//   - codex exec runs non-interactively and prints the last message on
//     stdout; the bottle's config.toml already drops approvals and Codex's
//     own sandbox (as it does for the interactive TUI), so no flag
//     overrides it; --skip-git-repo-check lets it work in a workdir that
//     is not a git repository.
//
// "--" ends the options, so a prompt that starts with "-" stays a prompt.
var (
	claudePromptFlags = []string{"-p", "--dangerously-skip-permissions"}
	codexPromptFlags  = []string{"exec", "--skip-git-repo-check"}
)

// PromptCommand returns the command that runs prompt headless with the
// plan's agent: its provider command followed by the CLI's non-interactive
// mode. Only the claude and codex templates have one.
func PromptCommand(plan *schemas.Plan, prompt string) ([]string, error) {
	if strings.TrimSpace(prompt) == "" {
		return nil, errors.New("prompt: empty")
	}
	if len(prompt) > maxPromptBytes {
		return nil, fmt.Errorf("prompt: %d bytes, more than the %d a command argument may carry", len(prompt), maxPromptBytes)
	}
	if strings.ContainsRune(prompt, 0) {
		return nil, errors.New("prompt: contains a NUL byte")
	}
	tmpl := ""
	if plan.Provider != nil {
		tmpl = plan.Provider.Template
	}
	var flags []string
	switch tmpl {
	case schemas.TemplateClaude:
		flags = claudePromptFlags
	case schemas.TemplateCodex:
		flags = codexPromptFlags
	case "":
		return nil, fmt.Errorf("prompt: bottle %s has no agent provider; a prompt needs agent_provider.template claude or codex", plan.Bottle)
	default:
		return nil, fmt.Errorf("prompt: bottle %s has template %s; a prompt needs claude or codex (give a command after -- instead)", plan.Bottle, tmpl)
	}
	if len(plan.Provider.Command) == 0 {
		return nil, fmt.Errorf("prompt: bottle %s has no provider command", plan.Bottle)
	}
	return slices.Concat(plan.Provider.Command, flags, []string{"--", prompt}), nil
}
