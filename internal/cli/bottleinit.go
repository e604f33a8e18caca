package cli

import (
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/spf13/cobra"
)

// newBottleInitCmd is the hidden init that runs as pid 1 inside every
// bottle. Backends start it; a person never does.
func newBottleInitCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:                launcher.InitCommand + " --config PATH",
		Short:              "Run as a bottle's init (started by the launcher)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := bottleinit.Main(args, c.stderr); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// newBottleSpawnerCmd is the hidden spawner a long-lived owner (serve)
// starts its local bottles' inits through (netns.WithSpawner). Its owner
// starts it; a person never does.
func newBottleSpawnerCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:                netns.SpawnerCommand + " --parent PID",
		Short:              "Start bottle inits for the owner that started it",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := netns.SpawnerMain(args, c.stderr); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}
