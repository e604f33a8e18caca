package terminal

import (
	"fmt"
	"io"
	"strings"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// pushFindingsShown bounds the findings listed for one push; the rest are
// counted.
const pushFindingsShown = 10

// printPush prints a push the git gate refused for its secrets: the
// summary, the repo, the refs and each finding (rule, file, line,
// commit). Refs and file names are the agent's: quoted as its text, so a
// crafted name cannot pass for a line of ours; the summary carries them,
// so it is quoted and labelled too.
func printPush(w io.Writer, v review.View) {
	fmt.Fprintf(w, "  push, refs and file names the agent's: %s\n", schemas.AgentText(v.Delta).Terminal(schemas.AgentLineMax))
	p := v.Push
	if p == nil {
		return
	}
	fmt.Fprintf(w, "  repo:   %s (%s), %d commit(s) carry secrets\n", line(p.Repo), line(p.URL), len(p.Commits))
	if len(p.Refs) > 0 {
		fmt.Fprintf(w, "  the agent's refs: %s\n", schemas.AgentText(strings.Join(p.Refs, " ")).Terminal(schemas.AgentLineMax))
	}
	for i, f := range p.Findings {
		if i == pushFindingsShown {
			fmt.Fprintf(w, "  ... and %d more\n", len(p.Findings)-i)
			break
		}
		where := schemas.FindingOutsideFiles
		if f.File != "" {
			where = fmt.Sprintf("the agent's file %s line %d", schemas.AgentText(f.File).Terminal(schemas.AgentLineMax), f.Line)
		}
		fmt.Fprintf(w, "  found:  %s in %s, commit %s\n", line(f.Rule), where, line(shortCommit(f.Commit)))
	}
}

// shortCommit is a commit id as a person reads it.
func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
