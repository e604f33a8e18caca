package cli

import (
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/review"
)

// printRelease prints a request held by DLP: what it is, which rules
// matched, and the agent's text around the secret, marked as the agent's
// and flattened (the proxy already replaced every secret in it).
func printRelease(c *cli, v review.View) {
	rel := v.Release
	fmt.Fprintf(c.stdout, "  held:   %s\n", oneLine(v.Delta, 300))
	if rel == nil {
		return
	}
	fmt.Fprintf(c.stdout, "  found:  %s (in %s)\n", oneLine(strings.Join(rel.Rules, ", "), 200), oneLine(strings.Join(rel.Where, ", "), 60))
	if rel.Excerpt != "" {
		fmt.Fprintf(c.stdout, "  agent's text, secrets replaced: «%s»\n", oneLine(rel.Excerpt, 300))
	}
	fmt.Fprintf(c.stdout, "  decide: bot-bottle review approve %s (release) | deny %s --reason ... (refuse)\n", v.ID, v.ID)
}
