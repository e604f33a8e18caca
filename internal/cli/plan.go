package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

func newPlanCmd(c *cli) *cobra.Command {
	var asJSON bool
	var routesOut, agent, workdir string
	cmd := &cobra.Command{
		Use:   "plan NAME [--routes FILE] | plan --agent NAME [--workdir DIR]",
		Short: "Show what a bottle will be: routes, credentials by name, agent env, warnings",
		Long: `plan loads the bottle NAME from $BOT_BOTTLE_HOME/bottles, folds its extends
chain, adds the agent provider's routes and prints the result. It never
prints a secret value: credentials appear as the host variable that holds
them and the token slot the proxy reads.

--agent NAME plans an agent instead: $BOT_BOTTLE_HOME/agents/NAME.md, else
the one the workdir's repository ships in .bot-bottle/agents/NAME.md, in the
bottle of the home it names. The plan adds where the agent came from, its
system prompt by source, size and digest (and where it is written), and its
skills, each with where it came from.

--routes FILE also writes the bottle's routes file (mode 0600, sealed): what a
standalone proxy enforces (bot-bottle egress --routes FILE), with each
credential named by its token slot.`,
		Example: `  bot-bottle plan example
  bot-bottle plan --json claude-base | jq .routes
  bot-bottle plan example --routes /srv/sc1/routes.yaml
  bot-bottle plan --agent reviewer --workdir ~/src/app`,
		Args: func(cmd *cobra.Command, args []string) error {
			if agent != "" {
				return optionalArg("plan", "bottle NAME")(cmd, args)
			}
			return exactArgs("plan", "bottle NAME")(cmd, args)
		},
		ValidArgsFunction: c.completeBottleNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := c.planner()
			if err != nil {
				return err
			}
			p.DockerRuntime = c.dockerRuntime()
			if agent != "" {
				return c.planAgent(p, agent, args, workdir, asJSON, routesOut)
			}
			plan, err := p.Plan(args[0])
			if err != nil {
				if errors.Is(err, planner.ErrBottleNotFound) {
					return withHint(err, "bot-bottle init, or add "+filepath.Join(planner.BottlesDir(p.Home), args[0]+".md"))
				}
				return err
			}
			return c.printPlan(plan, asJSON, routesOut)
		},
	}
	cmd.Flags().StringVar(&agent, "agent", "", "plan the agent `NAME` ($BOT_BOTTLE_HOME/agents/NAME.md, else the workdir's repository's .bot-bottle/agents/NAME.md) in its bottle")
	cmd.Flags().StringVar(&workdir, "workdir", "", "the folder whose repository's agents and skills --agent sees (default: the current folder)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (its schema: bot-bottle schema plan)")
	cmd.Flags().StringVar(&routesOut, "routes", "", "also write the bottle's routes file (sealed, mode 0600) to `FILE`, for bot-bottle egress")
	return cmd
}

// slotList names the token slots a routes file needs, and which host
// variable fills each (a name, never a value).
func slotList(plan *schemas.Plan) string {
	if len(plan.Slots) == 0 {
		return "no token slot"
	}
	parts := make([]string, 0, len(plan.Slots))
	for _, s := range plan.Slots {
		parts = append(parts, fmt.Sprintf("%s=$%s", s.Slot, s.TokenRef))
	}
	return strings.Join(parts, ", ")
}

func newValidateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check bottle files and report every problem with file:line:col",
		Long: `validate checks any bottle file, wherever it is, without planning it from
there: only bottles in $BOT_BOTTLE_HOME/bottles are ever planned. For a file in
the home, validate also resolves its extends chain and provider.`,
		Example: `  bot-bottle validate ~/.bot-bottle/bottles/*.md
  bot-bottle validate ./draft.md`,
		Args: minArgs("validate", "bottle file PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := c.planner()
			if err != nil {
				return err
			}
			failed := 0
			for _, path := range args {
				if err := validateFile(p, path); err != nil {
					failed++
					printError(c.stderr, err)
					continue
				}
				fmt.Fprintf(c.stdout, "ok: %s\n", path)
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files have problems", failed, len(args))}
			}
			return nil
		},
	}
}

// validateFile checks one file; inside the home it plans the bottle too.
func validateFile(p *planner.Planner, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if _, err := schemas.ParseManifest(path, src); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("validate %s: %w", path, err)
	}
	if filepath.Dir(abs) != planner.BottlesDir(p.Home) {
		return nil
	}
	name := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	_, err = p.Plan(name)
	return err
}

// printPlan writes plan as text or JSON, and its routes file when asked.
func (c *cli) printPlan(plan *schemas.Plan, asJSON bool, routesOut string) error {
	if routesOut != "" {
		if err := planner.WriteRoutesFile(routesOut, plan); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "wrote %s (sealed; the proxy reads %s from its environment)\n", routesOut, slotList(plan))
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	return planner.FormatPlan(c.stdout, plan)
}

// planAgent plans the agent called name for the workdir's repository; a
// bottle NAME given too must be the agent's.
func (c *cli) planAgent(p *planner.Planner, name string, args []string, workdir string, asJSON bool, routesOut string) error {
	if workdir == "" {
		workdir = c.workDir
	}
	plan, err := p.PlanAgent(name, workdir) // it resolves the workdir as launch does
	if err != nil {
		if errors.Is(err, planner.ErrAgentNotFound) {
			return withHint(err, "add "+filepath.Join(planner.AgentsDir(p.Home), name+".md")+" (bot-bottle init writes an example)")
		}
		return err
	}
	if len(args) == 1 && args[0] != plan.Bottle {
		return fmt.Errorf("plan --agent %s: the agent runs in the bottle %s, not %s", name, plan.Bottle, args[0])
	}
	return c.printPlan(plan, asJSON, routesOut)
}
