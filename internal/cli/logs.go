package cli

import (
	"errors"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/spf13/cobra"
)

func newLogsCmd(c *cli) *cobra.Command {
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a bottle's output, while it runs or after it ended",
		Long: `logs prints the output of a bottle's command, as its owner teed it into the
bottle's run folder (bounded: the latest output only). When the bottle ends
the output is kept in $BOT_BOTTLE_HOME/logs (the newest 100 bottles), so a
headless task's answer or a crashed agent's last words can still be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := c.openRuntime(proxyFlags{})
			if err != nil {
				return err
			}
			defer rt.Close()
			out, err := rt.launcher.Logs(cmd.Context(), args[0], tail)
			if err != nil {
				if errors.Is(err, launcher.ErrUnknownBottle) {
					return withHint(err, "bot-bottle ps")
				}
				return err
			}
			_, err = c.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().Int64Var(&tail, "tail", 0, "print only the last N bytes")
	return cmd
}
