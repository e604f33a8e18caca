package cli

import (
	"bytes"
	"strings"
	"testing"
)

// Every misuse of the command line exits 2, whoever notices it: our
// argument checks, pflag, cobra's command lookup, a flag value we parse.
func TestUsageErrorsExit2(t *testing.T) {
	t.Setenv("BOT_BOTTLE_HOME", t.TempDir())
	for _, args := range [][]string{
		{"launch"},
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
