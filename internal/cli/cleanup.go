package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCleanupCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what bottles of crashed owners left behind",
		Long: `cleanup finds bottles whose owner process died without stopping them (a
SIGKILL, a crash) and removes what they left: run folders and sockets,
containers and networks (found by their dev.bot-bottle.* labels). Bottles
whose owner is alive are never touched. A launch does the same first.
The pending proposals of every ended bottle expire.`,
		Example: `  bot-bottle cleanup`,
		Args:    noArgs("cleanup"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := c.openRuntime(proxyFlags{})
			if err != nil {
				return err
			}
			defer rt.Close()
			rep, err := rt.launcher.Cleanup(cmd.Context())
			for _, r := range rep.Removed {
				fmt.Fprintf(c.stdout, "removed %s\n", r)
			}
			if err != nil {
				return err
			}
			expired, err := rt.expire(cmd.Context())
			if err != nil {
				return err
			}
			if expired > 0 {
				fmt.Fprintf(c.stdout, "expired %d pending proposal(s) of ended bottles\n", expired)
			}
			if len(rep.Removed) == 0 && expired == 0 {
				fmt.Fprintln(c.stdout, "nothing to clean up")
			}
			return nil
		},
	}
}
