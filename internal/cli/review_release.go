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

// printPush prints a push the git gate refused for its secrets: repo,
// refs and each finding (rule, file, line, commit; the file name is the
// agent's, flattened and quoted).
func printPush(c *cli, v review.View) {
	p := v.Push
	fmt.Fprintf(c.stdout, "  push:   %s\n", oneLine(v.Delta, 300))
	if p == nil {
		return
	}
	for i, f := range p.Findings {
		if i == 10 {
			fmt.Fprintf(c.stdout, "  ... and %d more\n", len(p.Findings)-i)
			break
		}
		where := "the commit message or a file name"
		if f.File != "" {
			where = fmt.Sprintf("agent's file «%s» line %d", oneLine(f.File, 200), f.Line)
		}
		fmt.Fprintf(c.stdout, "  found:  %s in %s, commit %.12s\n", oneLine(f.Rule, 60), where, f.Commit)
	}
	fmt.Fprintf(c.stdout, "  decide: bot-bottle review approve %s --reason ... (its next push goes through) | deny %s --reason ... (stays refused)\n", v.ID, v.ID)
}
