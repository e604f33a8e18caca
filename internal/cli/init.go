package cli

import (
	"fmt"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/spf13/cobra"
)

func newInitCmd(c *cli) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write an example bottle, claude and codex base bottles, an example agent and skill into the bot-bottle home",
		Long: `init writes example.md, claude-base.md and codex-base.md into
$BOT_BOTTLE_HOME/bottles (default ~/.bot-bottle/bottles), an example agent
(agents/reviewer.md, in the claude-base bottle) and the skill it uses
(skills/review-checklist/SKILL.md): the ones that are missing. Files already
there are left as they are, edited or not; --force rewrites them with this
version's examples.`,
		Example: `  bot-bottle init
  BOT_BOTTLE_HOME=/tmp/demo bot-bottle init && bot-bottle plan example`,
		Args: noArgs("init"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := planner.DefaultHome(c.env)
			if err != nil {
				return err
			}
			res, err := planner.Init(home, force)
			for _, p := range res.Wrote {
				fmt.Fprintf(c.stdout, "wrote %s\n", p)
			}
			for _, p := range res.Rewrote {
				fmt.Fprintf(c.stdout, "rewrote %s\n", p)
			}
			for _, p := range res.Unchanged {
				fmt.Fprintf(c.stdout, "kept %s (exists; --force rewrites it)\n", p)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "next: bot-bottle plan example\n")
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rewrite the example files that exist too")
	return cmd
}
