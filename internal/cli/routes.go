package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/bot-bottle/bot-bottle/egressproxy/sidecar"
	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

func newRoutesCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "Seal and check routes files for a standalone egress proxy",
		Long: `A routes file proves it is whole with its last line, a seal:
"# sha256:<digest of every byte above it>". The planner and bot-bottle's own
copies are written sealed; bot-bottle egress refuses a file without a seal or
whose seal does not match, at start and on SIGHUP (keeping the old table), so
that a file cut off mid-write can never be taken for a wider policy.

  bot-bottle routes seal FILE    validate a file written or edited by hand, and seal it
  bot-bottle routes check FILE   say whether a file is whole and valid, as egress would`,
		Example: `  bot-bottle routes seal /srv/sc1/routes.yaml
  bot-bottle routes check /srv/sc1/routes.yaml`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "seal FILE",
		Short: "Validate a routes file written or edited by hand and seal it, in place",
		Long: `seal validates FILE as bot-bottle egress would (every problem at once, as
file:line:col), drops any old seal line, and rewrites it atomically (mode 0600)
with a new seal as its last line. Write the file whole before you seal it: the
seal vouches for what the file holds when you run this, nothing more.`,
		Example: `  bot-bottle routes seal /srv/sc1/routes.yaml
  kill -HUP "$(cat /srv/sc1/egress.pid)"   # then reload the sidecar`,
		Args: exactArgs("routes seal", "routes FILE"),
		RunE: func(_ *cobra.Command, args []string) error {
			path := args[0]
			src, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("seal routes: %w", err)
			}
			body := schemas.UnsealRoutes(src)
			rf, err := schemas.ParseRoutesBody(path, body)
			if err != nil {
				return err
			}
			if err := atomicfile.Write(path, schemas.SealRoutes(body), 0o600); err != nil {
				return fmt.Errorf("seal routes: %w", err)
			}
			fmt.Fprintf(c.stdout, "sealed %s: %s\n", path, routesSummary(rf))
			return nil
		},
	}, &cobra.Command{
		Use:     "check FILE",
		Short:   "Say whether a routes file is whole (sealed) and valid",
		Example: `  bot-bottle routes check /srv/sc1/routes.yaml`,
		Args:    exactArgs("routes check", "routes FILE"),
		RunE: func(_ *cobra.Command, args []string) error {
			rf, err := sidecar.ReadRoutes(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s is whole and valid: %s\n", args[0], routesSummary(rf))
			return nil
		},
	})
	return cmd
}

// routesSummary names a table's hosts, for the person who sealed it.
func routesSummary(rf *schemas.RoutesFile) string {
	if len(rf.Routes) == 0 {
		return "no routes"
	}
	hosts := make([]string, 0, len(rf.Routes))
	for _, r := range rf.Routes {
		hosts = append(hosts, r.Host)
	}
	noun := "routes"
	if len(hosts) == 1 {
		noun = "route"
	}
	return fmt.Sprintf("%d %s (%s)", len(hosts), noun, strings.Join(hosts, ", "))
}
