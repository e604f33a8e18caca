package planner

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// formatAgent writes the agent of a plan for a person: where it and each
// skill came from, the prompt by source, size and digest (its words only
// as a short flattened excerpt, labelled as whose they are), and where
// each lands in the agent's home.
func formatAgent(b *strings.Builder, plan *schemas.Plan) {
	a := plan.Agent
	if a == nil {
		return
	}
	fmt.Fprintf(b, "Agent %s, from %s\n  file:    %s\n", a.Name, originText(a.Origin, a.Repository), schemas.ShowPath(a.File))
	fmt.Fprintf(b, "  bottle:  %s, from the home\n", plan.Bottle)
	p := a.Prompt
	if p.Bytes == 0 {
		fmt.Fprintf(b, "  prompt:  none (%s has no text after its frontmatter)\n", schemas.ShowPath(a.File))
	} else {
		fmt.Fprintf(b, "  prompt:  %s in %s, from %s, sha256 %s\n", plural(p.Bytes, "byte"), plural(p.Lines, "line"), schemas.ShowPath(p.Source), p.SHA256[:16])
		fmt.Fprintf(b, "           appended to ~/%s after bot-bottle's instructions, between markers\n", p.Into)
		fmt.Fprintf(b, "           begins (%s, flattened): %q\n", wordsOf(a.Origin), p.Excerpt)
	}
	if a.GitUser != nil {
		over := "over the bottle's git-gate"
		if plan.GitGate == nil {
			over = "ignored: the bottle has no git-gate"
		}
		fmt.Fprintf(b, "  git user: %s (%s)\n", gitUserText(a.GitUser), over)
	}
	if len(a.Skills) == 0 {
		b.WriteString("  skills:  none\n\n")
		return
	}
	fmt.Fprintf(b, "  skills, into ~/%s (emptied and rewritten at every launch)", a.SkillsDir)
	if a.SkillsDir == CodexSkillsDir {
		b.WriteString("; Codex reads them there from 0.171")
	}
	b.WriteString(":\n")
	tw := tabwriter.NewWriter(b, 2, 8, 2, ' ', 0)
	for _, s := range a.Skills {
		fmt.Fprintf(tw, "    %s\t%s\t%s, %s\t%s\n", s.Name, s.Origin, plural(s.Files, "file"), plural(int(s.Bytes), "byte"), schemas.ShowPath(s.Source))
	}
	tw.Flush()
	for _, s := range a.Skills {
		fmt.Fprintf(b, "    %s: description (%s, flattened): %q\n", s.Name, wordsOf(s.Origin), s.Description)
	}
	b.WriteString("\n")
}

func originText(origin, repo string) string {
	if origin == schemas.FromRepository {
		return "the repository " + schemas.ShowPath(repo)
	}
	return "the home"
}

func wordsOf(origin string) string {
	if origin == schemas.FromRepository {
		return "the repository's words"
	}
	return "the home's words"
}

func gitUserText(g *schemas.GitUserPlan) string {
	var parts []string
	if g.Name != "" {
		parts = append(parts, fmt.Sprintf("name %q (%s)", g.Name, g.NameOrigin))
	}
	if g.Email != "" {
		parts = append(parts, fmt.Sprintf("email %q (%s)", g.Email, g.EmailOrigin))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// AgentNotice is the line a launch prints about the agent of its plan:
// which agent, from where, and whose text its prompt and skills are; ""
// for a plan without an agent.
func AgentNotice(plan *schemas.Plan) string {
	a := plan.Agent
	if a == nil {
		return ""
	}
	fromRepo := 0
	for _, s := range a.Skills {
		if s.Origin == schemas.FromRepository {
			fromRepo++
		}
	}
	msg := fmt.Sprintf("agent %s (%s) in bottle %s", a.Name, schemas.ShowPath(a.File), plan.Bottle)
	if a.Origin == schemas.FromRepository {
		msg = fmt.Sprintf("agent %s from the repository %s (%s) in bottle %s: its prompt is the repository's text", a.Name, schemas.ShowPath(a.Repository), schemas.ShowPath(a.File), plan.Bottle)
	}
	msg += fmt.Sprintf("; %s", plural(len(a.Skills), "skill"))
	if fromRepo > 0 {
		msg += fmt.Sprintf(" (%d from the repository)", fromRepo)
	}
	if a.SkillsDir != "" && len(a.Skills) > 0 {
		msg += " in ~/" + a.SkillsDir
	}
	return msg
}
