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
	defer startProfile(args, stderr)()
	root := newRootCmd(newCLI(stdin, stdout, stderr))
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	err = cobraUsage(err)
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.err != nil {
			printError(stderr, exit.err)
		}
		return exit.code
	}
	printError(stderr, err)
	if isUsage(err) {
		return 2
	}
	return 1
}

// cobraUsage rewrites cobra's unknown-command error, which spans several
// lines, as one line and a "Try:" line.
func cobraUsage(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command") {
		return err
	}
	first, rest, _ := strings.Cut(msg, "\n")
	u := &usageError{msg: first, hint: "bot-bottle --help"}
	if _, sugg, ok := strings.Cut(rest, "Did you mean this?\n"); ok {
		var names []string
		for _, n := range strings.Fields(sugg) {
			names = append(names, fmt.Sprintf("%q", n))
		}
		if len(names) > 0 {
			u.msg += " (did you mean " + strings.Join(names, " or ") + "?)"
		}
	}
	return u
}

// isUsage reports whether err is a misuse of the command line: ours, or
// one of cobra's own (an unknown command, a required flag left out).
func isUsage(err error) bool {
	var usage *usageError
	msg := err.Error()
	return errors.As(err, &usage) || strings.HasPrefix(msg, "unknown command") ||
		strings.HasPrefix(msg, "required flag") || strings.HasPrefix(msg, "if any flags in the group") ||
		strings.HasPrefix(msg, "invalid argument")
}

func printError(w io.Writer, err error) {
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		fmt.Fprintf(w, "Error:\n  %s\n", strings.ReplaceAll(msg, "\n", "\n  "))
	} else {
		fmt.Fprintf(w, "Error: %s\n", msg)
	}
	var h *hintError
	var u *usageError
	switch {
	case errors.As(err, &h):
		fmt.Fprintf(w, "Try: %s\n", h.hint)
	case errors.As(err, &u) && u.hint != "":
		fmt.Fprintf(w, "Try: %s\n", u.hint)
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
		Version:       buildInfo().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("bot-bottle {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newVersionCmd(c),
		newInitCmd(c),
		newPlanCmd(c),
		newValidateCmd(c),
		newSchemaCmd(c),
		newBottleInitCmd(c),
		newBottleSpawnerCmd(c),
		newLaunchCmd(c),
		newPsCmd(c),
		newStopCmd(c),
		newLogsCmd(c),
		newCleanupCmd(c),
		newDoctorCmd(c),
		newEgressCmd(c),
		newRoutesCmd(c),
		newCACmd(c),
		newEventsCmd(c),
		newReviewCmd(c),
		newServeCmd(c),
		newMCPConfigCmd(c),
	)
	return root
}
