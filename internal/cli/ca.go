package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/spf13/cobra"
)

func newCACmd(c *cli) *cobra.Command {
	ca := &cobra.Command{
		Use:   "ca",
		Short: "Manage the certificate authority of a standalone egress proxy",
		Example: `  bot-bottle ca init ./bottle-ca
  bot-bottle egress --routes routes.yaml --ca ./bottle-ca --listen 127.0.0.1:3128`,
	}
	ca.AddCommand(&cobra.Command{
		Use:   "init DIR",
		Short: "Mint a bottle CA: DIR/ca.pem for the agent's trust store, DIR/ca-key.pem (0600) for the proxy",
		Long: `ca init mints an ECDSA P-256 certificate authority for one bottle's egress
proxy. DIR/ca.pem holds the certificate alone: mount it in the bottle and point
SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, GIT_SSL_CAINFO and friends at it.
DIR/ca-key.pem holds the private key, mode 0600: only the proxy reads it
(bot-bottle egress --ca DIR). An existing CA is never replaced.`,
		Example: `  bot-bottle ca init ./bottle-ca
  bot-bottle egress --routes routes.yaml --ca ./bottle-ca --listen 127.0.0.1:3128`,
		Args: exactArgs("ca init", "CA folder DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if _, err := egressproxy.InitCA(dir); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return withHint(err, "use the existing CA, or remove "+dir+" to mint a new one (bottles trusting the old one will stop working)")
				}
				return err
			}
			fmt.Fprintf(c.stdout, "wrote %s (the certificate: trust it in the bottle)\n", filepath.Join(dir, egressproxy.CACertFile))
			fmt.Fprintf(c.stdout, "wrote %s (the key, mode 0600: for the proxy only)\n", filepath.Join(dir, egressproxy.CAKeyFile))
			return nil
		},
	})
	return ca
}
