package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/spf13/cobra"
)

func newPsCmd(c *cli) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List bottles: running ones, and orphans whose owner died",
		Long: `ps lists the bottles of this bot-bottle home that have not ended, from the
registry (the event store), whichever process launched them. A bottle whose
owner process died without stopping it is marked orphaned: bot-bottle
cleanup removes what it left.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := c.openRuntime(proxyFlags{})
			if err != nil {
				return err
			}
			defer rt.Close()
			list, err := rt.launcher.List(cmd.Context(), all)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []launcher.Info{}
				}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			return printBottles(c, list)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "include bottles that have ended")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printBottles(c *cli, list []launcher.Info) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(c.stdout, "no bottles")
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tBACKEND\tSTATE\tOWNER\tSINCE")
	for _, in := range list {
		state := in.State
		if in.Orphaned {
			state += " (orphaned)"
		} else if in.Unstored != "" {
			state += " (unconfirmed: its owner exited; its last events wait in " + in.Unstored + ")"
		} else if in.ExitCode != nil {
			state += fmt.Sprintf(" (%d)", *in.ExitCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", in.ID, in.Name, in.Backend, state, in.Owner.PID,
			time.Since(in.Since).Round(time.Second))
	}
	return tw.Flush()
}
