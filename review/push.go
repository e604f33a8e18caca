package review

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// A push the git gate refused because its new commits carry secrets
// becomes a proposal of kind push on the same desk: approve releases the
// findings of those commits, so the agent's next push of them is
// forwarded; deny keeps them refused. The push itself is not held: the
// agent's git has its answer already, and pushes again once approved.
// Nothing in it is the secret: findings name rule, file, line and commit.

// ProposePush publishes p as a push proposal and returns its id.
func (o *Owner) ProposePush(_ context.Context, p schemas.PushReview) (string, error) {
	u, _, _ := schemas.ParseGitURL(p.URL)
	p = shownPush(p)
	o.mu.Lock()
	if why := o.endedLocked(); why != "" {
		o.mu.Unlock()
		return "", errors.New(why)
	}
	t := &tracked{done: make(chan struct{}), prop: schemas.Proposal{
		ID: newProposalID(), Kind: schemas.ProposalPush, Bottle: o.cfg.Bottle, Host: u.Host, Port: u.Port,
		Delta: pushDelta(p), Push: &p, Count: 1, Time: o.cfg.Now().UTC(),
	}}
	o.props[t.prop.ID] = t
	prop := t.prop
	o.mu.Unlock()
	o.publish(schemas.KindProposal, prop)
	return prop.ID, nil
}

// shownPush is p as it will be shown: the refs and file names the agent
// chose carry no control, format or bidi character and stay one line, in
// the channel, the audit log and every reader of the store (as a
// justification is stored). The commits, which release the push, are
// hex ids the gate computed and stay as they are.
func shownPush(p schemas.PushReview) schemas.PushReview {
	refs := make([]string, len(p.Refs))
	for i, r := range p.Refs {
		refs[i] = schemas.AgentText(r).Line(schemas.AgentLineMax)
	}
	findings := make([]schemas.GitFinding, len(p.Findings))
	for i, f := range p.Findings {
		f.File = schemas.AgentText(f.File).Line(schemas.AgentLineMax)
		findings[i] = f
	}
	p.Refs, p.Findings = refs, findings
	return p
}

// PushStatus reports a push proposal's status and notes without waiting.
func (o *Owner) PushStatus(ctx context.Context, id string) (string, string, error) {
	r, err := o.Status(ctx, id, 0)
	return r.Status, r.Notes, err
}

// decidePush fills out with the outcome of d on a push proposal.
func decidePush(out *schemas.Applied, d schemas.Decision) {
	switch d.Action {
	case schemas.ActionApprove:
		out.Status, out.Notes = schemas.ProposalApproved, "released: the agent's next push of these commits goes to the upstream"
		out.Scope = schemas.ScopeOnce
	case schemas.ActionDeny:
		out.Status, out.Notes = schemas.ProposalDenied, "refused by the operator: pushes of these commits stay refused"
	default:
		out.Status, out.Notes = schemas.ProposalRefused, "a refused push can be released (approve) or kept refused (deny), not modified"
		return
	}
	if d.Reason != "" {
		out.Notes += " (" + d.Reason + ")"
	}
}

// pushDelta is a push proposal's one-line summary for a person: the repo,
// its refs and what was found where. File names are the agent's text:
// quoted.
func pushDelta(p schemas.PushReview) string {
	var found []string
	for i, f := range p.Findings {
		if i == 5 {
			found = append(found, fmt.Sprintf("and %d more", len(p.Findings)-i))
			break
		}
		where := "commit message"
		if f.File != "" {
			where = fmt.Sprintf("%q:%d", f.File, f.Line)
		}
		c := f.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		found = append(found, fmt.Sprintf("%s in %s (%s)", f.Rule, where, c))
	}
	return fmt.Sprintf("release a push to %s (%s) %s: %d commit(s) carry secrets: %s", p.Repo, p.URL,
		strings.Join(p.Refs, ", "), len(p.Commits), strings.Join(found, "; "))
}
