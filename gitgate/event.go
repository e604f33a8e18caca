package gitgate

import (
	"github.com/bot-bottle/bot-bottle/schemas"
)

// publishPush publishes the push's git.push event: the repo, every ref
// with its outcome, the new commits, the verdict and what was found
// (never a secret), and logs it.
func (g *Gate) publishPush(rs *repoState, cmds []command, out *pushOutcome) {
	ev := schemas.GitPush{Repo: rs.Name, URL: rs.URL.String(), Verdict: out.verdict, Reason: out.reason,
		Findings: out.pending, Released: out.released, ProposalID: out.proposal, Upstream: out.upstream}
	for _, c := range cmds {
		st := out.status[c.ref]
		ev.Refs = append(ev.Refs, schemas.GitRefPush{Ref: c.ref, Old: c.old, New: c.new, Status: st.status, Reason: st.reason})
		if !c.isDelete() {
			ev.Head = append(ev.Head, c.new)
		}
	}
	if out.scan != nil {
		ev.Commits = len(out.scan.commits)
	}
	e, err := schemas.NewEvent(g.cfg.Bottle, schemas.KindGitPush, ev)
	if err != nil {
		g.log.Error("git gate: encode the push event", "err", err)
		return
	}
	g.cfg.Publisher.Publish(e)
	g.log.Info("git gate: push", "bottle", g.cfg.Bottle, "repo", rs.Name, "verdict", out.verdict, "refs", len(cmds),
		"commits", ev.Commits, "findings", len(out.pending), "proposal", out.proposal)
}
