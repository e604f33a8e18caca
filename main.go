// Command bot-bottle runs AI coding agents in bottles: isolated process trees
// whose only way to the network is a per-bottle egress proxy. The commands
// live in internal/cli; this file only hands the process over to them.
package main

import (
	"os"

	"github.com/bot-bottle/bot-bottle/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
