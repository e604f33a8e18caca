package terminal

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// timeFormat is how absolute times are shown: the operator's local time
// with its zone.
const timeFormat = "2006-01-02 15:04:05 MST"

// line is agent-derived text made safe for one terminal line.
func line(s string) string { return schemas.AgentText(s).Line(schemas.AgentLineMax) }

// PrintProposal prints v for a person, with its evidence when ev is set
// (a pending proposal) and its outcome when it has one.
func PrintProposal(w io.Writer, v review.View, ev *review.Evidence) {
	kind := v.Kind
	if kind == "" {
		kind = schemas.ProposalEgress
	}
	fmt.Fprintf(w, "%s  %s  %s  bottle %s\n", v.ID, v.Status, kind, v.Bottle)
	asked := "  asked:  " + v.Time.Local().Format(timeFormat)
	if v.Count > 1 {
		asked += fmt.Sprintf(" (the same request %d times)", v.Count)
	}
	fmt.Fprintln(w, asked)
	switch v.Kind {
	case schemas.ProposalRelease:
		printRelease(w, v)
	case schemas.ProposalPush:
		printPush(w, v)
	default:
		fmt.Fprintf(w, "  change: %s\n", line(v.Delta))
		fmt.Fprintf(w, "  the agent's justification: %s\n", schemas.AgentText(v.Justification).Terminal(500))
	}
	if ev != nil {
		printEvidence(w, v, *ev)
	} else if len(v.DenialIDs) > 0 {
		fmt.Fprintf(w, "  answers denials: %s\n", line(strings.Join(v.DenialIDs, ", ")))
	}
	printOutcome(w, v)
	fmt.Fprintln(w)
}

// printRelease prints a request held by DLP: what it is, which rules
// matched, and the agent's text around the secret, marked as the agent's
// (the proxy already replaced every secret in it).
func printRelease(w io.Writer, v review.View) {
	fmt.Fprintf(w, "  held:   %s\n", line(v.Delta))
	rel := v.Release
	if rel == nil {
		return
	}
	fmt.Fprintf(w, "  found:  %s (in %s)\n", line(strings.Join(rel.Rules, ", ")), line(strings.Join(rel.Where, ", ")))
	if rel.Excerpt != "" {
		fmt.Fprintf(w, "  the agent's text, secrets replaced: %s\n", schemas.AgentText(rel.Excerpt).Terminal(500))
	}
}

func printEvidence(w io.Writer, v review.View, ev review.Evidence) {
	if b := ev.Bottle; b != nil {
		state := b.State
		if !b.Running {
			state += ", not running"
		}
		fmt.Fprintf(w, "  bottle: %s (%s), backend %s, workdir %s, started by %s at %s\n", b.Name, state, b.Backend,
			b.Workdir, b.StartedBy, b.Since.Local().Format(timeFormat))
	}
	if len(ev.Denials) > 0 {
		fmt.Fprintln(w, "  denials it answers (the requests the agent sent, as the proxy saw them):")
		for _, d := range ev.Denials {
			host := d.Host
			if d.Port != 0 && d.Port != 443 && d.Port != 80 {
				host = fmt.Sprintf("%s:%d", d.Host, d.Port)
			}
			fmt.Fprintf(w, "    %s %s%s  %s  %d× %s\n", line(d.Method), line(host), line(d.Path), d.Reason, d.Count, span(d.First, d.Last))
		}
	}
	if len(ev.Uncited) > 0 {
		fmt.Fprintf(w, "  denial ids the agent cited that its bottle never got: %s\n", line(strings.Join(ev.Uncited, ", ")))
	}
	if review.ChangesRoutes(v.Kind) {
		if len(ev.Routes) == 0 {
			fmt.Fprintf(w, "  live routes for %s now: none\n", line(v.Host))
		}
		for _, r := range ev.Routes {
			fmt.Fprintf(w, "  live route now: %s\n", line(review.RouteLine(r)))
		}
	}
	if !ev.AgentWaitsUntil.IsZero() {
		fmt.Fprintf(w, "  the agent waits until %s\n", ev.AgentWaitsUntil.Local().Format(timeFormat))
	}
	fmt.Fprintf(w, "  approve: %s\n", line(ev.Once.Summary))
	switch p := ev.Persist; {
	case p.Unavailable != "":
		fmt.Fprintf(w, "  approve + persist: unavailable: %s\n", line(p.Unavailable))
	default:
		fmt.Fprintf(w, "  approve + persist: also edits %s:\n", line(p.Manifest))
		for _, l := range strings.Split(strings.TrimRight(schemas.AgentText(p.Diff).Block(0), "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	for _, p := range ev.Problems {
		fmt.Fprintf(w, "  (could not read: %s)\n", line(p))
	}
}

// span is a time or a range of times, local.
func span(first, last time.Time) string {
	if first.Equal(last) {
		return first.Local().Format(timeFormat)
	}
	return first.Local().Format(timeFormat) + " to " + last.Local().Format("15:04:05")
}

func printOutcome(w io.Writer, v review.View) {
	switch {
	case v.Expired != nil:
		fmt.Fprintf(w, "  outcome: %s\n", line(v.Expired.Notes()))
	case v.Applied != nil:
		PrintApplied(w, v.Applied, "  ")
	case v.Decision != nil:
		limit := ""
		if v.Decision.For != "" {
			limit = " for " + v.Decision.For
		}
		fmt.Fprintf(w, "  decided: %s%s by %s; waits for its bottle's owner to apply it\n", v.Decision.Action, limit, v.Decision.DecidedBy)
	}
	if x := v.RouteExpired; x != nil {
		fmt.Fprintf(w, "  route expired at %s: %s\n", x.RemovedAt.UTC().Format(time.RFC3339), line(x.Notes))
	}
}

// PrintApplied prints an outcome: who decided what, the operator's reason,
// and, apart, what the agent was told.
func PrintApplied(w io.Writer, a *schemas.Applied, indent string) {
	who := a.DecidedBy
	if who == "" {
		who = "nobody (the hold ended)"
	}
	action := a.Action
	if a.Scope != "" {
		action += " " + a.Scope
	}
	fmt.Fprintf(w, "%soutcome: %s (%s by %s)\n", indent, a.Status, action, surface(who))
	if a.For != "" {
		fmt.Fprintf(w, "%s  time limit: %s, then the route is removed\n", indent, review.ForNote(a.For, a.ExpiresAt))
	}
	if a.Reason != "" {
		fmt.Fprintf(w, "%s  the operator's reason: %s\n", indent, schemas.AgentText(a.Reason).Terminal(500))
	}
	if a.Notes != "" {
		fmt.Fprintf(w, "%s  told the agent: %s\n", indent, line(a.Notes))
	}
}

// surface names where a decision was made.
func surface(by string) string {
	switch by {
	case schemas.DecidedByCLI:
		return "the CLI"
	case schemas.DecidedByWeb:
		return "the review page"
	case schemas.DecidedByMCP:
		return "an MCP client"
	}
	return by
}
