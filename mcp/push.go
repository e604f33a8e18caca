package mcp

import (
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// pushFindingsShown bounds the findings written for one push; the rest
// are counted.
const pushFindingsShown = 10

// writePush writes a push the git gate refused for its secrets. The refs
// and file names are the agent's: each is one line, quoted as its text
// («…», schemas.AgentText.Terminal) on a line that says whose it is, so
// a crafted name can neither end our sentence nor start a line of ours.
func writePush(b *strings.Builder, v review.View) {
	fmt.Fprintf(b, "  refused push (refs and file names as the agent sent them): %s\n", quoted(v.Delta))
	p := v.Push
	if p == nil {
		return
	}
	fmt.Fprintf(b, "  repo %s (%s): %d commit(s) carry secrets\n", line(p.Repo), line(p.URL), len(p.Commits))
	if len(p.Refs) > 0 {
		fmt.Fprintf(b, "  refs the agent pushed: %s\n", quoted(strings.Join(p.Refs, " ")))
	}
	for i, f := range p.Findings {
		if i == pushFindingsShown {
			fmt.Fprintf(b, "  ... and %d more findings\n", len(p.Findings)-i)
			break
		}
		where := schemas.FindingOutsideFiles
		if f.File != "" {
			where = fmt.Sprintf("the agent's file %s line %d", quoted(f.File), f.Line)
		}
		c := f.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		fmt.Fprintf(b, "  found: %s in %s, commit %s\n", line(f.Rule), where, line(c))
	}
}

// quoted is a one-line field the agent chose, quoted as its text.
func quoted(s string) string { return schemas.AgentText(s).Terminal(schemas.AgentLineMax) }
