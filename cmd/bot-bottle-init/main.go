// Command bot-bottle-init is the bottle init alone: launcher/bottleinit and
// what it needs, without the MCP server, the proxy, the store or the
// Docker client. The local backend starts it, when it lies beside
// bot-bottle and is the same build, in place of bot-bottle's own hidden
// init command: it starts in a fifth of the CPU (no package init of a
// 40 MB binary, whose libraries compile schemas and regexps at start) and
// holds a third of the memory per bottle. It takes the same arguments, so
// either binary can be the init.
//
// Build it with bot-bottle as one pair (the same build pair linked into
// both, which is how bot-bottle knows it is its own build):
//
//	./scripts/build.sh bin
package main

import (
	"fmt"
	"os"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
)

// initCommand is launcher.InitCommand, which this binary does not import
// (the launcher would bring the rest of bot-bottle with it);
// TestCompanionTakesTheInitCommand keeps the two equal.
const initCommand = "bottle-init"

func main() {
	if len(os.Args) < 2 || os.Args[1] != initCommand {
		fmt.Fprintf(os.Stderr, "bot-bottle-init: the bottle init of bot-bottle, which starts it as %q; a person never does\n", initCommand)
		os.Exit(2)
	}
	os.Exit(bottleinit.Main(os.Args[2:], os.Stderr))
}
