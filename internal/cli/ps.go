package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
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
cleanup removes what it left, and its pending proposals expire.

On a channel shared by several machines (--events nats://...), ps lists
every machine's bottles, each with its machine's name ($BOT_BOTTLE_MACHINE,
or the host name). A bottle whose machine stopped renewing its lease (it
crashed, or lost the channel) is marked lost: only that machine can clean
it up.`,
		Example: `  bot-bottle ps
  bot-bottle ps -a
  bot-bottle ps --json | jq '.[].id'`,
		Args: noArgs("ps"),
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
			var orphans []string
			for _, in := range list {
				if in.Orphaned {
					orphans = append(orphans, in.ID)
				}
			}
			if len(orphans) > 0 {
				// A dead owner cannot expire its bottle's proposals: ps,
				// having found it, does.
				if _, err := rt.expire(cmd.Context(), orphans...); err != nil {
					fmt.Fprintf(c.stderr, "warning: expire the proposals of orphaned bottles: %v\n", err)
				}
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
	c.addChannelFlags(cmd.Flags(), true)
	return cmd
}

func printBottles(c *cli, list []launcher.Info) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(c.stdout, "no bottles")
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tBACKEND\tSTATE\tOWNER\tMACHINE\tSINCE\tAGENT HOME")
	for _, in := range list {
		state := in.State
		if in.Orphaned {
			state += " (orphaned)"
		} else if in.Lost {
			state += " (lost: its machine stopped renewing its lease)"
		} else if in.Unstored != "" {
			state += " (unconfirmed: its owner exited; its last events wait in " + in.Unstored + ")"
		} else if in.ExitCode != nil && in.Reason != "" {
			state += fmt.Sprintf(" (%d, %s)", *in.ExitCode, in.Reason)
		} else if in.ExitCode != nil {
			state += fmt.Sprintf(" (%d)", *in.ExitCode)
		}
		owner := ""
		if !launcher.Terminal(in.State) {
			owner = strconv.Itoa(in.Owner.PID) // an ended bottle has no owner left
		}
		home := "-"
		if in.AgentHome != "" {
			home = filepath.Join(launcher.AgentHomesDir, filepath.Base(in.AgentHome))
		}
		machine := in.Owner.Machine
		if machine == "" {
			machine = "-" // recorded before machines were named: this one
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Name, in.Where(), state, owner, machine,
			time.Since(in.Since).Round(time.Second), home)
	}
	return tw.Flush()
}
