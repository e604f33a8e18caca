package gitgate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Supervisor takes the pushes the gate refused for their secrets to the
// operator: in bot-bottle, the review owner of the process that owns the
// bottle, which publishes each as a proposal of kind push on the desk.
type Supervisor interface {
	// ProposePush publishes a proposal to release the findings of p and
	// returns its id. An error means nobody was asked.
	ProposePush(ctx context.Context, p schemas.PushReview) (string, error)
	// PushStatus reports a push proposal's status (pending, approved,
	// denied, refused, expired) and the operator's notes.
	PushStatus(ctx context.Context, id string) (status, notes string, err error)
}

// SetSupervisor attaches the supervisor of refused pushes (nil detaches
// it). Without one, a push with findings is refused with nobody to ask.
func (g *Gate) SetSupervisor(s Supervisor) {
	if s == nil {
		g.sup.Store(nil)
		return
	}
	g.sup.Store(&s)
}

// review decides a scanned push: clean, or every finding in commits the
// operator released, goes on (true); otherwise it is refused, the
// operator is asked (or the pending question named), and the agent is
// told why. rs.mu is held.
func (g *Gate) review(ctx context.Context, rs *repoState, sr *scanResult, cmds []command, out *pushOutcome, rep *reporter) bool {
	if sr.dropped > 0 {
		// A release covers whole commits: asking the operator about the
		// findings shown would release the ones left out too.
		out.pending = sr.findings
		out.reason = fmt.Sprintf("secrets found (more than %d: %s); too many for the operator to review", maxFindings, summary(sr.findings))
		g.explain(rep, rs, sr.findings, "Too many secrets to ask the operator about; remove them from the commits (rewrite them) and push again.")
		return false
	}
	var pending []schemas.GitFinding
	for _, f := range sr.findings {
		if rs.released[f.Commit] {
			out.released++
			continue
		}
		pending = append(pending, f)
	}
	if len(pending) == 0 {
		return true
	}
	commits := findingCommits(pending)
	key := strings.Join(commits, ",")
	sp := g.sup.Load()
	if id, ok := rs.proposals[key]; ok && sp != nil {
		status, notes, err := (*sp).PushStatus(ctx, id)
		switch {
		case err == nil && status == schemas.ProposalApproved:
			for _, c := range commits {
				rs.released[c] = true
			}
			g.dropProposal(rs, key)
			out.released += len(pending)
			out.proposal = id
			rep.msg(fmt.Sprintf("bot-bottle git gate: the operator released the findings of these commits (proposal %s)", id))
			return true
		case err == nil && status == schemas.ProposalPending:
			out.pending, out.proposal = pending, id
			out.reason = fmt.Sprintf("secrets found (%s); proposal %s still waits for the operator", summary(pending), id)
			g.explain(rep, rs, pending, "The operator has not decided yet on proposal "+id+"; push again once it is approved.")
			return false
		case err == nil && status == schemas.ProposalDenied:
			out.pending, out.proposal = pending, id
			out.reason = fmt.Sprintf("secrets found (%s); the operator denied proposal %s", summary(pending), id)
			msg := "The operator denied releasing them (proposal " + id + ")"
			if notes != "" {
				msg += ": " + notes
			}
			g.explain(rep, rs, pending, msg+". Remove the secrets from the commits (rewrite them) and push again.")
			return false
		}
		g.dropProposal(rs, key) // expired or refused: ask again
	}
	out.pending = pending
	if sp == nil {
		out.reason = fmt.Sprintf("secrets found (%s); no operator is attached to review them", summary(pending))
		g.explain(rep, rs, pending, "Remove the secrets from the commits (rewrite them) and push again.")
		return false
	}
	g.mu.Lock()
	full := g.props >= maxProposals
	if !full {
		g.props++
	}
	g.mu.Unlock()
	if full {
		out.reason = fmt.Sprintf("secrets found (%s); %d pushes already wait for the operator", summary(pending), maxProposals)
		g.explain(rep, rs, pending, "Too many pushes of this bottle wait for the operator; remove the secrets and push again.")
		return false
	}
	var refs []string
	for _, c := range cmds {
		refs = append(refs, c.ref)
	}
	id, err := (*sp).ProposePush(ctx, schemas.PushReview{Repo: rs.Name, URL: rs.URL.String(), Refs: refs, Commits: commits, Findings: pending})
	if err != nil {
		g.mu.Lock()
		g.props--
		g.mu.Unlock()
		out.reason = fmt.Sprintf("secrets found (%s); the operator could not be asked: %s", summary(pending), cleanLine(err.Error()))
		g.explain(rep, rs, pending, "Remove the secrets from the commits (rewrite them) and push again.")
		return false
	}
	rs.proposals[key] = id
	out.proposal = id
	out.reason = fmt.Sprintf("secrets found (%s); proposal %s asks the operator to release them", summary(pending), id)
	g.explain(rep, rs, pending, "The operator is asked to release them: proposal "+id+
		" (call proposal_status with it to wait). Once it is approved, push the same commits again; or remove the secrets from the commits and push.")
	return false
}

// dropProposal forgets a settled proposal.
func (g *Gate) dropProposal(rs *repoState, key string) {
	delete(rs.proposals, key)
	g.mu.Lock()
	g.props = max(0, g.props-1)
	g.mu.Unlock()
}

// explain tells the agent, line by line, what was found where.
func (g *Gate) explain(rep *reporter, rs *repoState, fs []schemas.GitFinding, then string) {
	rep.msg(fmt.Sprintf("bot-bottle git gate: push to %s refused: its new commits carry %d secret(s)", rs.Name, len(fs)))
	for i, f := range fs {
		if i == 20 {
			rep.msg(fmt.Sprintf("  ... and %d more", len(fs)-i))
			break
		}
		rep.msg("  " + describeFinding(f))
	}
	rep.msg(then)
}

// describeFinding is one finding for the agent and the operator: rule,
// file (the agent's text, quoted), line and commit; never the secret.
func describeFinding(f schemas.GitFinding) string {
	where := schemas.FindingOutsideFiles
	if f.File != "" {
		where = quoteAgent(f.File)
		if f.Line > 0 {
			where += fmt.Sprintf(" line %d", f.Line)
		}
	}
	return fmt.Sprintf("%s in %s, commit %s", f.Rule, where, short(f.Commit))
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// summary is the findings in a few words, for one report line.
func summary(fs []schemas.GitFinding) string {
	var rules []string
	for _, f := range fs {
		if !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
	}
	return fmt.Sprintf("%d: %s", len(fs), strings.Join(rules, ", "))
}

// findingCommits is the sorted commits that hold findings.
func findingCommits(fs []schemas.GitFinding) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Commit) {
			out = append(out, f.Commit)
		}
	}
	slices.Sort(out)
	return out
}
