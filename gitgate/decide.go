package gitgate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Ref outcomes, as GitRefPush.Status says them.
const (
	refOK       = "ok"
	refRefused  = "refused"  // by the gate
	refRejected = "rejected" // by the upstream
)

// refOutcome is what became of one ref of a push.
type refOutcome struct {
	status string
	reason string
}

// pushOutcome is what became of a push, for the report and the event.
type pushOutcome struct {
	unpackErr string
	status    map[string]refOutcome
	verdict   string
	reason    string
	scan      *scanResult
	pending   []schemas.GitFinding // findings that refused it
	released  int
	proposal  string
	upstream  string
}

// receive decides a push and carries it out. rs.mu is held.
func (g *Gate) receive(ctx context.Context, rs *repoState, req *pushRequest, rep *reporter) *pushOutcome {
	out := &pushOutcome{status: map[string]refOutcome{}, verdict: schemas.PushRefused}
	refuse := func(reason string, cmds ...command) {
		for _, c := range cmds {
			if _, done := out.status[c.ref]; !done {
				out.status[c.ref] = refOutcome{status: refRefused, reason: reason}
			}
		}
		if out.reason == "" {
			out.reason = reason
		}
	}
	if !rs.ready {
		refuse("fetch first: the gate has no copy of the upstream yet", req.cmds...)
		return out
	}
	q, err := g.newQuarantine(rs)
	if err != nil {
		out.unpackErr = "the gate cannot hold the push"
		refuse("the gate cannot hold the push: "+cleanLine(err.Error()), req.cmds...)
		return out
	}
	defer os.RemoveAll(q.dir)
	if slices.ContainsFunc(req.cmds, func(c command) bool { return !c.isDelete() }) {
		if err := g.unpack(ctx, rs, q, req.body); err != nil {
			out.unpackErr = cleanLine(err.Error())
			refuse("the pushed objects were refused: "+out.unpackErr, req.cmds...)
			return out
		}
	}
	refs, err := g.refs(ctx, rs)
	if err != nil {
		refuse("the gate cannot read its copy of the upstream: "+cleanLine(err.Error()), req.cmds...)
		return out
	}
	current := map[string]string{}
	for _, r := range refs {
		current[r.name] = r.id
	}
	var accepted []pushSpec
	for _, c := range req.cmds {
		force, why := g.check(ctx, rs, q, c, current)
		if why != "" {
			refuse(why, c)
			continue
		}
		accepted = append(accepted, pushSpec{cmd: c, force: force})
	}
	if req.atomic && len(accepted) < len(req.cmds) {
		refuse("atomic push: another ref of it was refused", req.cmds...)
		return out
	}
	if len(accepted) == 0 {
		return out
	}
	acceptedCmds := make([]command, len(accepted))
	var tips []string
	for i, s := range accepted {
		acceptedCmds[i] = s.cmd
		if !s.cmd.isDelete() {
			tips = append(tips, s.cmd.new)
		}
	}
	if len(tips) > 0 {
		if !req.quiet {
			rep.msg("bot-bottle git gate: scanning the new commits for secrets")
		}
		sr, err := g.scan(ctx, rs, q, tips)
		if err != nil {
			refuse("the secret scan could not run, so the push is refused: "+cleanLine(err.Error()), acceptedCmds...)
			rep.msg("bot-bottle git gate: " + out.reason)
			return out
		}
		out.scan = sr
		if ok := g.review(ctx, rs, sr, acceptedCmds, out, rep); !ok {
			refuse(out.reason, acceptedCmds...)
			return out
		}
	}
	g.forwardAll(ctx, rs, q, accepted, req.atomic, out, rep)
	return out
}

// check applies the repo's rules to one ref update and reports whether it
// needs force (a non-fast-forward or a deletion, which the repo allows),
// or why it is refused.
func (g *Gate) check(ctx context.Context, rs *repoState, q *quarantine, c command, current map[string]string) (bool, string) {
	branch, ok := strings.CutPrefix(c.ref, "refs/heads/")
	if !ok {
		return false, "the gate pushes branches only (refs/heads/...); " + c.ref + " is refused"
	}
	if !slices.ContainsFunc(rs.Push, func(p string) bool { return schemas.MatchGitPush(p, branch) }) {
		return false, fmt.Sprintf("branch %s is not one this bottle may push (git-gate push: %s)", branch, strings.Join(rs.Push, ", "))
	}
	have := current[c.ref]
	if have == "" {
		have = zeroID
	}
	if c.old != have {
		return false, "stale: the upstream's " + branch + " is not what your push expects; fetch and push again"
	}
	if c.isDelete() {
		if !rs.Force {
			return false, "deleting a branch is refused (git-gate force: false)"
		}
		return true, ""
	}
	env := append(g.localEnv(rs), q.env()...)
	typ, err := g.run(ctx, env, "cat-file", "-t", c.new)
	if err != nil || strings.TrimSpace(string(typ)) != "commit" {
		return false, "the pushed " + branch + " is not a commit"
	}
	if c.isCreate() {
		return false, ""
	}
	_, err = g.run(ctx, env, "merge-base", "--is-ancestor", c.old, c.new)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return false, ""
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		if !rs.Force {
			return false, "non-fast-forward: force pushes are refused (git-gate force: false); fetch, rebase or merge, and push again"
		}
		return true, ""
	default:
		return false, "the fast-forward check could not run: " + cleanLine(err.Error())
	}
}

// forwardAll pushes the accepted refs upstream and records the answers.
func (g *Gate) forwardAll(ctx context.Context, rs *repoState, q *quarantine, accepted []pushSpec, atomic bool, out *pushOutcome, rep *reporter) {
	results, msgs, err := g.forward(ctx, rs, q, accepted, atomic)
	for _, m := range msgs {
		rep.msg("upstream: " + m)
	}
	if err != nil {
		out.verdict = schemas.PushFailed
		out.reason = "the upstream cannot be reached: " + cleanLine(strings.TrimPrefix(err.Error(), errUnreachable.Error()+": "))
		for _, s := range accepted {
			out.status[s.cmd.ref] = refOutcome{status: refRejected, reason: out.reason}
		}
		return
	}
	var done []command
	var answers []string
	for _, s := range accepted {
		r, ok := results[s.cmd.ref]
		switch {
		case !ok:
			out.status[s.cmd.ref] = refOutcome{status: refRejected, reason: "the upstream did not answer for this ref"}
		case r.ok:
			out.status[s.cmd.ref] = refOutcome{status: refOK, reason: r.reason}
			done = append(done, s.cmd)
		default:
			out.status[s.cmd.ref] = refOutcome{status: refRejected, reason: "upstream: " + r.reason}
		}
		if ok {
			answers = append(answers, s.cmd.ref+": "+r.reason)
		}
	}
	out.upstream = strings.Join(answers, "; ")
	switch {
	case len(done) == len(accepted) && len(accepted) > 0:
		out.verdict = schemas.PushForwarded
	default:
		out.verdict = schemas.PushFailed
		if out.reason == "" {
			out.reason = "the upstream refused part of the push"
		}
	}
	if len(done) > 0 {
		g.adopt(ctx, rs, q, done)
	}
}
