package mcp

import (
	"fmt"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// How the operator surface writes proposals for a host model: our words on
// lines of their own, everything the agent wrote in a fenced block
// labelled as the agent's (schemas.AgentText.MCP), and one-line fields it
// chose (paths, hosts) escaped. A model can tell the two apart, and
// nothing the agent wrote can end our text or start a line of ours.

// line is agent-derived text made safe for one line of ours.
func line(s string) string { return schemas.AgentText(s).Line(schemas.AgentLineMax) }

// utc is an absolute time for a model.
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// writeProposal writes one proposal and, when it has it, its evidence.
func writeProposal(b *strings.Builder, p Proposal) {
	v := p.View
	kind := v.Kind
	if kind == "" {
		kind = schemas.ProposalEgress
	}
	fmt.Fprintf(b, "\n- proposal %s (%s, %s) from bottle %s, asked %s", v.ID, v.Status, kind, v.Bottle, utc(v.Time))
	if v.Count > 1 {
		fmt.Fprintf(b, ", the same request %d times", v.Count)
	}
	b.WriteString("\n")
	if v.Kind == schemas.ProposalRelease && v.Release != nil {
		fmt.Fprintf(b, "  held request: %s\n", line(v.Delta))
		b.WriteString(schemas.AgentText(v.Release.Excerpt).MCP("the request's text around the secret, secrets replaced", "  ", 0))
	} else if v.Kind == schemas.ProposalPush {
		writePush(b, v)
	} else {
		fmt.Fprintf(b, "  change: %s\n", line(v.Delta))
		b.WriteString(schemas.AgentText(v.Justification).MCP("justification", "  ", 0))
	}
	if ev := p.Evidence; ev != nil {
		writeEvidence(b, v, *ev)
	}
	switch {
	case v.Expired != nil:
		fmt.Fprintf(b, "  outcome: %s\n", line(v.Expired.Notes()))
	case v.Applied != nil:
		writeApplied(b, v.Applied, "  ")
	case v.Decision != nil:
		limit := ""
		if v.Decision.For != "" {
			limit = " for " + v.Decision.For
		}
		fmt.Fprintf(b, "  decided: %s%s by %s; waits for its bottle's owner to apply it\n", v.Decision.Action, limit, v.Decision.DecidedBy)
	}
	if x := v.RouteExpired; x != nil {
		fmt.Fprintf(b, "  route expired at %s: %s\n", utc(x.RemovedAt), line(x.Notes))
	}
}

func writeEvidence(b *strings.Builder, v review.View, ev review.Evidence) {
	if bt := ev.Bottle; bt != nil {
		fmt.Fprintf(b, "  bottle: %s, %s (running: %t), backend %s, workdir %s, started by %s at %s\n",
			line(bt.Name), bt.State, bt.Running, bt.Backend, line(bt.Workdir), line(bt.StartedBy), utc(bt.Since))
	}
	if len(ev.Denials) == 0 && review.ChangesRoutes(v.Kind) {
		b.WriteString("  denials it answers: none cited\n")
	}
	for _, d := range ev.Denials {
		fmt.Fprintf(b, "  denied request it answers (as the agent sent it): %s %s%s (%s), %d times, %s to %s\n", line(d.Method), line(hostPort(d.Host, d.Port)),
			line(d.Path), d.Reason, d.Count, utc(d.First), utc(d.Last))
	}
	if len(ev.Uncited) > 0 {
		fmt.Fprintf(b, "  denial ids the agent cited that its bottle never got: %s\n", line(strings.Join(ev.Uncited, ", ")))
	}
	if review.ChangesRoutes(v.Kind) {
		if len(ev.Routes) == 0 {
			fmt.Fprintf(b, "  live routes for %s now: none\n", line(v.Host))
		}
		for _, r := range ev.Routes {
			fmt.Fprintf(b, "  live route now: %s\n", line(review.RouteLine(r)))
		}
	}
	if !ev.AgentWaitsUntil.IsZero() {
		fmt.Fprintf(b, "  the agent waits until %s\n", utc(ev.AgentWaitsUntil))
	}
	fmt.Fprintf(b, "  approve (scope once): %s\n", line(ev.Once.Summary))
	if ev.Persist.Unavailable != "" {
		fmt.Fprintf(b, "  approve (scope persist): unavailable: %s\n", line(ev.Persist.Unavailable))
	} else {
		fmt.Fprintf(b, "  approve (scope persist): also edits %s:\n%s\n", line(ev.Persist.Manifest),
			indent(schemas.AgentText(ev.Persist.Diff).Block(0), "    "))
	}
	for _, p := range ev.Problems {
		fmt.Fprintf(b, "  (could not read: %s)\n", line(p))
	}
}

// writeApplied writes who decided what and the outcome; the notes the
// agent was told are labelled as such, not addressed to the reader.
func writeApplied(b *strings.Builder, a *schemas.Applied, ind string) {
	action := a.Action
	if a.Scope != "" {
		action += " " + a.Scope
	}
	by := a.DecidedBy
	if by == "" {
		by = "nobody"
	}
	fmt.Fprintf(b, "%soutcome: %s (%s, decided by %s)\n", ind, a.Status, action, by)
	if a.For != "" {
		fmt.Fprintf(b, "%stime limit: %s, then the route is removed\n", ind, review.ForNote(a.For, a.ExpiresAt))
	}
	if a.Reason != "" {
		fmt.Fprintf(b, "%soperator's reason: %s\n", ind, line(a.Reason))
	}
	if a.Notes != "" {
		fmt.Fprintf(b, "%swhat the agent was told: %s\n", ind, line(a.Notes))
	}
}

// hostPort is host, with its port when it is not a default one.
func hostPort(host string, port int) string {
	if port != 0 && port != 443 && port != 80 {
		return fmt.Sprintf("%s:%d", host, port)
	}
	return host
}
