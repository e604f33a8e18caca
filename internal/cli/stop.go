package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/spf13/cobra"
)

func newStopCmd(c *cli) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a bottle, whichever process owns it",
		Long: `stop asks the bottle's owner (the bot-bottle process that launched it) to
stop it, through the shared event channel, and waits until it has. The
owner sends SIGTERM to the command and SIGKILL after a grace period, then
removes the proxy, sockets, container and run folder. When the owner has
died, stop removes what it left itself.`,
		Example: `  bot-bottle stop b-3f2a1c
  bot-bottle stop --timeout 10s b-3f2a1c`,
		Args:              exactArgs("stop", "bottle ID"),
		ValidArgsFunction: c.completeBottleIDs(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := c.openRuntime(proxyFlags{})
			if err != nil {
				return err
			}
			defer rt.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := rt.launcher.Stop(ctx, args[0], "bot-bottle stop"); err != nil {
				if errors.Is(err, launcher.ErrUnknownBottle) {
					return withHint(err, "bot-bottle ps")
				}
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "stopped %s\n", args[0])
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the bottle to end")
	c.addChannelFlags(cmd.Flags(), true)
	return cmd
}
