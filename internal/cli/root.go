package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Run executes the CLI and returns the process exit code: 0 on success, 1 on
// an error, 2 on a usage error. Errors print as "Error: ..." with, where one
// is known, a "Try: ..." line.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(newCLI(stdin, stdout, stderr))
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.err != nil {
			printError(stderr, exit.err)
		}
		return exit.code
	}
	printError(stderr, err)
	var usage *usageError
	if errors.As(err, &usage) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") ||
		strings.Contains(err.Error(), "accepts ") || strings.HasPrefix(err.Error(), "required flag") {
		return 2
	}
	return 1
}

func printError(w io.Writer, err error) {
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		fmt.Fprintf(w, "Error:\n  %s\n", strings.ReplaceAll(msg, "\n", "\n  "))
	} else {
		fmt.Fprintf(w, "Error: %s\n", msg)
	}
	var h *hintError
	if errors.As(err, &h) {
		fmt.Fprintf(w, "Try: %s\n", h.hint)
	}
}

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "bot-bottle",
		Short: "Run AI coding agents in bottles whose only network path is an egress proxy",
		Long: `bot-bottle runs AI coding agents (Claude Code, Codex, any command) in bottles:
isolated process trees whose only way to the network is a per-bottle egress
proxy that allows only the hosts and paths the bottle's manifest names and
injects credentials the agent never sees.

Bottles live in $BOT_BOTTLE_HOME/bottles (default ~/.bot-bottle/bottles).`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(
		newVersionCmd(c),
		newInitCmd(c),
		newPlanCmd(c),
		newValidateCmd(c),
		newSchemaCmd(c),
		newBottleInitCmd(c),
		newLaunchCmd(c),
		newPsCmd(c),
		newStopCmd(c),
		newLogsCmd(c),
		newCleanupCmd(c),
		newDoctorCmd(c),
		newEgressCmd(c),
		newCACmd(c),
		newEventsCmd(c),
		newReviewCmd(c),
		newServeCmd(c),
		newMCPConfigCmd(c),
	)
	return root
}
