package review

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// A request held by the proxy's DLP (route policy supervise) becomes a
// proposal of kind release on the same desk as egress proposals: approve
// releases it to the upstream, deny refuses it, and a hold that outlives
// its timeout is refused too. Nothing in it is the secret: the proxy hands
// over the rules that matched and an excerpt with every finding replaced.

// MaxHeld bounds the requests one bottle may have held at once; more are
// refused at once (each holds a connection of the agent's).
const MaxHeld = 16

// HoldOutcome is what the owner answers on a held request.
type HoldOutcome struct {
	Released bool
	TimedOut bool
	Notes    string
}

// Hold publishes rel as a release proposal and waits for the operator's
// decision until ctx ends (the proxy bounds it by the hold's timeout, and
// it ends if the agent goes away). With no decision by then, the proposal
// is settled as refused, so a late approval releases nothing.
func (o *Owner) Hold(ctx context.Context, rel schemas.Release) HoldOutcome {
	// Stored as it will be shown, like a justification: the path and the
	// excerpt are the agent's.
	rel.Path = schemas.AgentText(rel.Path).Line(schemas.AgentLineMax)
	rel.Excerpt = schemas.AgentText(rel.Excerpt).Lines(schemas.AgentTextMax)
	o.mu.Lock()
	held := 0
	for _, t := range o.props {
		if t.result == nil && t.prop.Kind == schemas.ProposalRelease {
			held++
		}
	}
	if held >= MaxHeld {
		o.mu.Unlock()
		return HoldOutcome{Notes: fmt.Sprintf("%d requests of this bottle are already held", held)}
	}
	t := &tracked{done: make(chan struct{}), prop: schemas.Proposal{
		ID: newProposalID(), Kind: schemas.ProposalRelease, Bottle: o.cfg.Bottle, Host: rel.Host, Port: rel.Port,
		Delta: releaseDelta(rel), Release: &rel, Count: 1, Time: o.cfg.Now().UTC(),
	}}
	o.props[t.prop.ID] = t
	prop := t.prop
	o.mu.Unlock()
	o.publish(schemas.KindProposal, prop)

	select {
	case <-t.done:
	case <-ctx.Done():
		o.expire(t.prop.ID, ctx.Err())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := t.result
	return HoldOutcome{Released: r.Status == schemas.ProposalApproved, TimedOut: r.Status == schemas.ProposalRefused && strings.HasPrefix(r.Notes, expiredNote),
		Notes: r.Notes}
}

const expiredNote = "the hold ended before a decision"

// expire settles a release proposal nobody decided in time, and publishes
// that, unless a decision got there first.
func (o *Owner) expire(id string, cause error) {
	o.applying.Lock() // not between a decision's check and its settle
	defer o.applying.Unlock()
	o.mu.Lock()
	t := o.props[id]
	decided := t.result != nil
	o.mu.Unlock()
	if decided {
		return
	}
	why := "timed out"
	if cause == context.Canceled {
		why = "the agent's connection went away"
	}
	notes := expiredNote + " (" + why + "); the request was refused"
	o.publish(schemas.KindApplied, schemas.Applied{ProposalID: id, Bottle: o.cfg.Bottle, Status: schemas.ProposalRefused,
		Notes: notes, Action: "expire"})
	o.settle(id, Result{Status: schemas.ProposalRefused, ProposalID: id, Notes: notes})
}

// decideRelease fills out with the outcome of d on a release proposal.
func decideRelease(out *schemas.Applied, d schemas.Decision) {
	switch d.Action {
	case schemas.ActionApprove:
		out.Status, out.Notes = schemas.ProposalApproved, "released: the held request goes to its upstream as it was sent"
		out.Scope = schemas.ScopeOnce // a release is for this one request
	case schemas.ActionDeny:
		out.Status, out.Notes = schemas.ProposalDenied, "refused by the operator: the agent gets a 403"
	default:
		out.Status, out.Notes = schemas.ProposalRefused, "a held request can be released (approve) or refused (deny), not modified"
		return
	}
	if d.Reason != "" {
		out.Notes += " (" + d.Reason + ")"
	}
}

// releaseDelta is a release proposal's one-line summary for a person:
// method, host and path (redacted by the proxy) and the rules.
func releaseDelta(rel schemas.Release) string {
	host := rel.Host
	if rel.Port != 0 {
		host = fmt.Sprintf("%s:%d", rel.Host, rel.Port)
	}
	return fmt.Sprintf("release a held %s %s%s (dlp: %s; in %s; held until %s)", rel.Method, host, rel.Path,
		strings.Join(rel.Rules, ", "), strings.Join(rel.Where, ", "), rel.Until.Format(time.TimeOnly))
}
