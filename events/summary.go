package events

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Summary returns a one-line description of ev's payload for a person (the
// CLI's `events`, a notification). Text that came from an agent (a path, a
// justification) is made safe for a terminal: control characters, escape
// sequences among them, are shown quoted, never emitted.
func Summary(ev schemas.Event) string {
	s, err := summarize(ev)
	if err != nil {
		return "undecodable payload: " + Printable(err.Error())
	}
	return Printable(s)
}

func summarize(ev schemas.Event) (string, error) {
	switch ev.Kind {
	case schemas.KindDenial:
		var d schemas.Denial
		if err := ev.Decode(&d); err != nil {
			return "", err
		}
		host := d.Host
		if d.Port != 0 && d.Port != 443 {
			host += ":" + strconv.Itoa(d.Port)
		}
		return fmt.Sprintf("%s %s%s denied: %s (%s)", d.Method, host, schemas.RedactQuery(d.Path), d.Reason, d.ID), nil
	case schemas.KindReload:
		var r schemas.Reload
		if err := ev.Decode(&r); err != nil {
			return "", err
		}
		if !r.OK {
			return fmt.Sprintf("routes reload (%s) failed, kept %d routes: %s", r.Source, r.Before, r.Error), nil
		}
		return fmt.Sprintf("routes reloaded (%s): %d -> %d routes", r.Source, r.Before, r.After), nil
	case schemas.KindLifecycle:
		var l schemas.Lifecycle
		if err := ev.Decode(&l); err != nil {
			return "", err
		}
		s := fmt.Sprintf("%s %s", l.State, l.Name)
		if l.Backend != "" {
			s += " backend=" + l.Backend
		}
		if l.Owner != 0 {
			s += " owner_pid=" + strconv.Itoa(l.Owner)
		}
		if l.ExitCode != nil {
			s += " exit=" + strconv.Itoa(*l.ExitCode)
		}
		if l.Reason != "" {
			s += " reason=" + l.Reason
		}
		if h := l.Limits; h != nil && h.OOMKills > 0 {
			s += " oom_kills=" + strconv.Itoa(h.OOMKills)
		}
		if h := l.Limits; h != nil && h.PidsRefused > 0 {
			s += " pids_refused=" + strconv.Itoa(h.PidsRefused)
		}
		if l.Error != "" {
			s += ": " + l.Error
		}
		return s, nil
	case schemas.KindLimit:
		var l schemas.LimitReached
		if err := ev.Decode(&l); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s limit (%s) reached: %s", l.Limit, l.Max, l.Action), nil
	case schemas.KindStopRequested:
		var r schemas.StopRequest
		if err := ev.Decode(&r); err != nil {
			return "", err
		}
		return strings.TrimSpace(fmt.Sprintf("stop requested by pid %d %s", r.By, r.Reason)), nil
	case schemas.KindProposal:
		var p schemas.Proposal
		if err := ev.Decode(&p); err != nil {
			return "", err
		}
		// The justification is the agent's: quoted and labelled as its
		// words, one line, bounded (schemas.AgentText), never part of ours.
		return fmt.Sprintf("proposal %s: %s (x%d); the agent's justification: %s", p.ID, schemas.AgentText(p.Delta).Line(0),
			max(p.Count, 1), schemas.AgentText(p.Justification).Terminal(proposalJustificationShown)), nil
	case schemas.KindDecision:
		var d schemas.Decision
		if err := ev.Decode(&d); err != nil {
			return "", err
		}
		limit := ""
		if d.For != "" {
			limit = " for " + d.For
		}
		return strings.TrimSpace(fmt.Sprintf("decision on %s: %s %s%s by %s %s", d.ProposalID, d.Action, d.Scope, limit, d.DecidedBy, d.Reason)), nil
	case schemas.KindApplied:
		var a schemas.Applied
		if err := ev.Decode(&a); err != nil {
			return "", err
		}
		return strings.TrimSpace(fmt.Sprintf("applied %s: %s %s", a.ProposalID, a.Status, a.Notes)), nil
	case schemas.KindRouteExpired:
		var x schemas.RouteExpired
		if err := ev.Decode(&x); err != nil {
			return "", err
		}
		return "route expired: " + Printable(x.Notes), nil
	case schemas.KindExpired:
		var x schemas.Expired
		if err := ev.Decode(&x); err != nil {
			return "", err
		}
		return fmt.Sprintf("proposal %s %s; noticed by %s", x.ProposalID, x.Notes(), x.NoticedBy), nil
	}
	const most = 160
	s := string(ev.Payload)
	if len(s) > most {
		s = s[:most] + "..."
	}
	return s, nil
}

// proposalJustificationShown bounds the justification on a proposal's
// line; review shows it whole.
const proposalJustificationShown = 200

// Printable returns s with every non-printable rune (control characters,
// the escape that starts a terminal sequence, line breaks) written as a Go
// escape, so untrusted text cannot move the cursor, recolour the terminal
// or forge a second line.
func Printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
