package cli

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

// Shell completion (`bot-bottle completion bash|zsh|fish|powershell`, which
// cobra provides) completes what a person would otherwise look up: bottle
// names from the home, bottle ids from the registry, proposal ids from the
// review queue, and the values of flags such as --backend. Completion reads;
// it never creates a home or a store, and it gives up quickly when the store
// is busy, so a shell never hangs on a tab.

// completionTimeout bounds a completion's reads.
const completionTimeout = 2 * time.Second

type completer = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeBottleNames completes the first argument with the home's bottles.
func (c *cli) completeBottleNames() completer {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		home, err := planner.DefaultHome(c.env)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := planner.ListBottles(planner.BottlesDir(home))
		if len(names) == 1 && names[0] == "none" {
			names = nil
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeBottleIDs completes the first argument with bottle ids from the
// registry: those that have not ended, and the ended ones too when all is
// set (logs reads an ended bottle's kept output). Each comes with its name
// and state as the description.
func (c *cli) completeBottleIDs(all bool) completer {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		c.withStore(func(ctx context.Context, store events.Store) {
			list, err := launcher.ListRegistry(ctx, store, all)
			if err != nil {
				return
			}
			for _, in := range list {
				out = append(out, in.ID+"\t"+in.Name+" "+in.State)
			}
		})
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeProposalIDs completes the first argument with pending proposals.
func (c *cli) completeProposalIDs() completer {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		c.withStore(func(ctx context.Context, store events.Store) {
			views, err := review.List(ctx, store, review.Filter{Status: schemas.ProposalPending})
			if err != nil {
				return
			}
			for _, v := range views {
				out = append(out, v.ID+"\t"+v.Bottle+" "+v.Host)
			}
		})
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeValues completes a flag with fixed values.
func completeValues(values ...string) completer {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// withStore opens the event channel for reading, if it exists, for fn:
// the NATS one that --events or BOT_BOTTLE_EVENTS names, else the home's.
func (c *cli) withStore(fn func(context.Context, events.Store)) {
	if c.channelURL() != "" {
		c.withChannel(fn)
		return
	}
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return
	}
	path := filepath.Join(home, sqlite.FileName)
	if !fileExists(path) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return
	}
	defer store.Close()
	fn(ctx, store)
}

// withChannel is withStore on NATS: it makes nothing there (NoCreate),
// and gives up when the server does not answer within the completion's
// time.
func (c *cli) withChannel(fn func(context.Context, events.Store)) {
	o, err := c.natsOptions()
	if err != nil {
		return
	}
	o.NoCreate = true
	o.Logger = nil // a shell's completion prints nothing but candidates
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	store, err := natsjs.Open(ctx, o)
	if err != nil {
		return
	}
	defer store.Close()
	fn(ctx, store)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
