package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/review/terminal"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

// decideWait is how long the CLI waits for a bottle's owner to apply a
// decision before saying it is published but not yet applied.
const decideWait = 30 * time.Second

// reviewDesk is an operator's desk on the home's store.
type reviewDesk struct {
	c     *cli
	store events.Store
	bus   *events.Bus
	desk  *review.Desk
}

func (c *cli) openDesk() (*reviewDesk, error) {
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return nil, err
	}
	store, err := c.openStore(home, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	bus := events.NewBus(store, events.BusOptions{SpoolDir: launcher.SpoolDir(home, launcher.Self())})
	desk := review.NewDesk(review.DeskConfig{Channel: bus, Running: func(ctx context.Context, id string) (bool, error) {
		return launcher.Running(ctx, store, id)
	}, Bottles: mcp.DeskBottles{Registry: store}})
	return &reviewDesk{c: c, store: store, bus: bus, desk: desk}, nil
}

func (d *reviewDesk) Close() {
	_ = d.c.closeBus(d.bus, closeWait)
	_ = d.store.Close()
}

func newReviewCmd(c *cli) *cobra.Command {
	var asJSON, all, interactive, fromStdin bool
	var bottle string
	cmd := &cobra.Command{
		Use:   "review",
		Short: "List the agents' requests for egress and decide them",
		Long: `review lists pending proposals (an agent's request for egress, with the exact
change it makes to its bottle's routes); --all lists decided ones too, and the
expired ones: a proposal still pending when its bottle ended expires (the
bottle's owner says so as it ends, or whichever process finds the owner dead).

  bot-bottle review approve ID [--persist]   allow it (for the bottle's life, or also in its manifest)
  bot-bottle review deny ID --reason TEXT    refuse it; the agent reads the reason
  bot-bottle review modify ID --path P ...   allow a route you edited instead
  bot-bottle review -i                       wait for proposals and ask y/p/n/m/s for each

A request the proxy holds because it carries a secret (a route with
dlp: {on_match: supervise}) is listed as a "release" proposal: approve sends
it on as it was, deny refuses it; neither shows the secret. A push the git
gate refused because its new commits carry secrets is listed as a "push"
proposal: approve releases those commits for the agent's next push, deny
keeps them refused. Neither kind changes a route, so neither takes
--persist or modify, and review -i asks only y (release once), n or s.

-i asks at a terminal. A program can answer instead with -i --stdin, one
answer per line as a person would type them: y (approve), p (approve and
persist), n then a line with the reason (deny), m then a line of path
prefixes and a line of methods (modify; empty keeps, * allows all), s (skip).
Without --stdin, -i refuses a stdin that is not a terminal, so a stray pipe
(yes | bot-bottle review -i) cannot approve whatever arrives.

A decision travels on the shared channel to the process that owns the bottle,
which reloads the bottle's proxy and answers the agent's waiting call.`,
		Example: `  bot-bottle review
  bot-bottle review --all --bottle b-3f2a1c
  bot-bottle review approve p-7d01e2
  bot-bottle review deny p-7d01e2 --reason 'use the internal mirror instead'
  bot-bottle review -i
  bot-bottle review -i --stdin < answers.txt`,
		Args: noArgs("review"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := c.openDesk()
			if err != nil {
				return err
			}
			defer d.Close()
			ctx := cmd.Context()
			if fromStdin && !interactive {
				return &usageError{msg: "review: --stdin goes with -i"}
			}
			if interactive {
				if !fromStdin && !isTerminal(c.stdin) {
					return &usageError{msg: "review -i: stdin is not a terminal",
						hint: "bot-bottle review approve|deny ID, or review -i --stdin to read answers from stdin (see bot-bottle review --help)"}
				}
				ctx, cancel := signalContext(ctx)
				defer cancel()
				r := &terminal.Interactive{Desk: d.desk, In: c.stdin, Out: c.stdout, Bottle: bottle,
					Decide: func(ctx context.Context, dec schemas.Decision) {
						if err := c.decide(ctx, d, dec); err != nil {
							printError(c.stderr, err)
						}
					}}
				return r.Run(ctx)
			}
			f := review.Filter{Bottle: bottle, Status: schemas.ProposalPending}
			if all {
				f.Status = ""
			}
			views, err := d.desk.Proposals(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(views)
			}
			if len(views) == 0 {
				fmt.Fprintln(c.stdout, "no pending proposals")
				return nil
			}
			for _, v := range views {
				var ev *review.Evidence
				if v.Status == schemas.ProposalPending {
					e := d.desk.Evidence(ctx, v)
					ev = &e
				}
				terminal.PrintProposal(c.stdout, v, ev)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print proposals as JSON")
	cmd.Flags().BoolVar(&all, "all", false, "include decided proposals")
	cmd.Flags().StringVar(&bottle, "bottle", "", "only this bottle's proposals")
	_ = cmd.RegisterFlagCompletionFunc("bottle", c.completeBottleIDs(true))
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "wait for proposals and decide each as it comes")
	cmd.Flags().BoolVar(&fromStdin, "stdin", false, "with -i: read the answers from stdin even when it is not a terminal")
	c.addChannelFlags(cmd.PersistentFlags(), true)
	cmd.AddCommand(newDecideCmd(c, schemas.ActionApprove), newDecideCmd(c, schemas.ActionDeny), newDecideCmd(c, schemas.ActionModify))
	return cmd
}

func newDecideCmd(c *cli, action string) *cobra.Command {
	var persist bool
	var reason, forText string
	var mf modifyFlags
	cmd := &cobra.Command{
		Use: action + " ID",
		Short: map[string]string{schemas.ActionApprove: "Allow a proposal", schemas.ActionDeny: "Refuse a proposal, with a reason the agent reads",
			schemas.ActionModify: "Allow an edited route instead of the proposed one"}[action],
		Example: map[string]string{
			schemas.ActionApprove: "  bot-bottle review approve p-7d01e2\n  bot-bottle review approve p-7d01e2 --for 30m\n  bot-bottle review approve --persist p-7d01e2",
			schemas.ActionDeny:    "  bot-bottle review deny p-7d01e2 --reason 'use the internal mirror instead'",
			schemas.ActionModify:  "  bot-bottle review modify p-7d01e2 --path /simple/requests/ --method GET\n  bot-bottle review modify p-7d01e2 --method GET --for 1h\n  bot-bottle review modify p-7d01e2 --all-paths --method GET --method HEAD --persist",
		}[action],
		Args:              exactArgs("review "+action, "proposal ID"),
		ValidArgsFunction: c.completeProposalIDs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			dec := schemas.Decision{ProposalID: args[0], Action: action, Reason: reason, DecidedBy: schemas.DecidedByCLI, Scope: schemas.ScopeOnce}
			if persist {
				dec.Scope = schemas.ScopePersist
			}
			if cmd.Flags().Changed("for") {
				lim, err := review.ParseFor("--for", forText)
				switch {
				case err != nil:
					return &usageError{msg: "review " + action + ": " + err.Error()}
				case lim == 0:
					return &usageError{msg: "review " + action + ": --for is empty: give a duration such as 30m, or leave the flag out to approve for the bottle's life"}
				case persist:
					return &usageError{msg: "review " + action + ": --for with --persist: a route written into the manifest has no lifetime; approve once with --for, or persist without it"}
				}
				dec.For = review.FormatFor(lim)
			}
			if action == schemas.ActionDeny {
				dec.Scope = ""
				if strings.TrimSpace(reason) == "" {
					return &usageError{msg: "deny needs --reason: the agent reads it to decide what to do next"}
				}
			}
			d, err := c.openDesk()
			if err != nil {
				return err
			}
			defer d.Close()
			if action == schemas.ActionModify {
				v, err := d.desk.Proposal(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if dec.Route, err = mf.route(v); err != nil {
					return err
				}
			}
			return c.decide(cmd.Context(), d, dec)
		},
	}
	if action != schemas.ActionDeny {
		cmd.Flags().BoolVar(&persist, "persist", false, "also write the route into the bottle's manifest (shows the diff)")
		cmd.Flags().StringVar(&forText, "for", "", fmt.Sprintf("remove the route again after this long (e.g. 30m, 1h30m; %s to %s; not with --persist)",
			review.MinFor, review.FormatFor(review.MaxFor)))
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why; the agent reads it")
	if action == schemas.ActionModify {
		mf.register(cmd)
	}
	return cmd
}

// decide publishes dec and reports what the bottle's owner did with it.
func (c *cli) decide(ctx context.Context, d *reviewDesk, dec schemas.Decision) error {
	applied, err := d.desk.Decide(ctx, dec, decideWait)
	if err != nil {
		switch {
		case errors.Is(err, review.ErrUnknownProposal):
			return withHint(err, "bot-bottle review --all lists proposal ids")
		case errors.Is(err, review.ErrExpired):
			return withHint(err, "bot-bottle review lists the proposals that can still be decided")
		}
		return err
	}
	fmt.Fprintf(c.stdout, "%s %s\n", applied.Status, applied.ProposalID)
	terminal.PrintApplied(c.stdout, applied, "  ")
	if applied.Diff != "" {
		fmt.Fprintf(c.stdout, "\nmanifest edit:\n%s", schemas.AgentText(applied.Diff).Block(0))
	}
	if applied.Status == schemas.ProposalRefused {
		return &exitError{code: 1}
	}
	return nil
}

// signalContext ends on SIGINT/SIGTERM.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
