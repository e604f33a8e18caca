package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every misuse of the command line exits 2, whoever notices it: our
// argument checks, pflag, cobra's command lookup, a flag value we parse.
func TestUsageErrorsExit2(t *testing.T) {
	t.Setenv("BOT_BOTTLE_HOME", t.TempDir())
	for _, args := range [][]string{
		{"launch"},
		{"launch", "--agent", "rev", "a", "b"},
		{"launch", "a", "b"},
		{"plan", "--agent", "rev", "a", "b"},
		{"logs"},
		{"logs", "--tial", "3", "b-000001"},
		{"logs", "--tail", "-3", "b-000001"},
		{"logs", "--since", "soon", "b-000001"},
		{"stop", "a", "b"},
		{"ps", "extra"},
		{"plan"},
		{"validate"},
		{"schema", "nope"},
		{"mcp-config", "vim"},
		{"review", "approve"},
		{"review", "--stdin"},
		{"frobnicate"},
		{"version", "--jsn"},
		{"doctor", "extra"},
		{"stop", "--timeout", "soon", "b-000001"},
		{"routes", "seal"},
		{"routes", "check", "a", "b"},
		{"events", "serve", "extra"},
		{"events", "serve"},
		{"events", "serve", "--bottle", "a", "--listen", "/no/scheme.sock"},
	} {
		var out, errOut bytes.Buffer
		code := Run(args, strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.HasPrefix(errOut.String(), "Error: ") || strings.Count(errOut.String(), "Error:") != 1 {
			t.Errorf("bot-bottle %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errOut.String())
		}
	}
}

// Every command a person types has examples in its help (cobra's own
// help and completion commands aside).
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRootCmd(newCLI(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || sub.Name() == "__complete" {
				continue
			}
			if strings.TrimSpace(sub.Example) == "" {
				t.Errorf("bot-bottle %s has no examples in its help", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}

// plan --agent names the agent that is not there, with the folders looked
// in and a hint, and exits 1. (launch --agent checks its backend first:
// this test binary cannot start one.)
func TestAgentNotFound(t *testing.T) {
	home := t.TempDir()
	t.Setenv("BOT_BOTTLE_HOME", home)
	for _, args := range [][]string{
		{"plan", "--agent", "nobody", "--workdir", t.TempDir()},
	} {
		var out, errOut bytes.Buffer
		code := Run(args, strings.NewReader(""), &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), `agent "nobody": not found in `+home+"/agents") ||
			!strings.Contains(errOut.String(), "bot-bottle init writes an example") {
			t.Errorf("bot-bottle %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errOut.String())
		}
	}
}
