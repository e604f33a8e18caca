package cli

import (
	"fmt"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/spf13/cobra"
)

func newInitCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Write an example bottle and claude and codex base bottles into the bot-bottle home",
		Long: `init writes example.md, claude-base.md and codex-base.md into
$BOT_BOTTLE_HOME/bottles (default ~/.bot-bottle/bottles). It never overwrites
a file: if any of them exists, it writes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := planner.DefaultHome(c.env)
			if err != nil {
				return err
			}
			wrote, err := planner.Init(home)
			if err != nil {
				return withHint(err, "edit the existing bottles, or point "+planner.HomeEnv+" at an empty folder")
			}
			for _, p := range wrote {
				fmt.Fprintf(c.stdout, "wrote %s\n", p)
			}
			fmt.Fprintf(c.stdout, "next: bot-bottle plan example\n")
			return nil
		},
	}
}
