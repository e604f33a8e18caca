package gitgate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// errUnreachable marks a refresh that could not reach the upstream: the
// gate then serves nothing (fail closed), rather than stale refs.
var errUnreachable = errors.New("the upstream cannot be reached")

// refresh brings rs's mirror up to date with its upstream: a bare clone
// the first time, a pruning fetch of branches and tags after. rs.mu is
// held.
func (g *Gate) refresh(ctx context.Context, rs *repoState) error {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	url := rs.URL.String()
	if !rs.ready {
		_ = os.RemoveAll(rs.mirror) // a clone cut short earlier
		env := g.upstreamEnv(rs)
		if _, err := g.run(ctx, env, "clone", "--bare", "--quiet", "--no-tags", "--", url, rs.mirror); err != nil {
			_ = os.RemoveAll(rs.mirror)
			return fmt.Errorf("%w: %v", errUnreachable, err)
		}
		// The clone's own config names the upstream as origin; the gate
		// names it on every command instead, and keeps no remote.
		if _, err := g.run(ctx, g.localEnv(rs), "config", "--unset-all", "remote.origin.fetch"); err != nil {
			g.log.Debug("git gate: unset the clone's refspec", "repo", rs.Name, "err", err)
		}
		rs.ready = true
	}
	env := append(g.upstreamEnv(rs), "GIT_DIR="+rs.mirror)
	if _, err := g.run(ctx, env, "fetch", "--quiet", "--prune", "--no-write-fetch-head", "--", url,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return fmt.Errorf("%w: %v", errUnreachable, err)
	}
	return nil
}

// pushSpec is one ref the gate forwards.
type pushSpec struct {
	cmd   command
	force bool // a non-fast-forward update or a deletion, which force allowed
}

// upstreamResult is the upstream's answer on one ref.
type upstreamResult struct {
	ok     bool
	reason string
}

// forward pushes the accepted refs to the upstream, from the mirror with
// the push's quarantined objects, and returns the upstream's answer per
// ref and its messages. A forced update is leased on the old value the
// agent saw, so a ref the upstream moved meanwhile is not overwritten.
func (g *Gate) forward(ctx context.Context, rs *repoState, q *quarantine, specs []pushSpec, atomic bool) (map[string]upstreamResult, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	args := []string{"push", "--porcelain", "--no-verify"}
	if atomic {
		args = append(args, "--atomic")
	}
	var refspecs []string
	for _, s := range specs {
		c := s.cmd
		switch {
		case c.isDelete():
			args = append(args, "--force-with-lease="+c.ref+":"+c.old)
			refspecs = append(refspecs, ":"+c.ref)
		case s.force:
			args = append(args, "--force-with-lease="+c.ref+":"+c.old)
			refspecs = append(refspecs, "+"+c.new+":"+c.ref)
		default:
			refspecs = append(refspecs, c.new+":"+c.ref)
		}
	}
	args = append(args, "--", rs.URL.String())
	args = append(args, refspecs...)
	env := append(g.upstreamEnv(rs), "GIT_DIR="+rs.mirror)
	env = append(env, q.env()...)
	out, err := g.run(ctx, env, args...)
	results := parsePorcelain(string(out))
	var msgs []string
	if err != nil {
		var ge *gitErr
		if errors.As(err, &ge) && ge.stderr != "" {
			msgs = append(msgs, ge.stderr)
		}
		if len(results) == 0 {
			return nil, msgs, fmt.Errorf("%w: %v", errUnreachable, err)
		}
	}
	return results, msgs, nil
}

// parsePorcelain reads `git push --porcelain`: one line per ref,
// "<flag>\t<from>:<to>\t<summary>", flag ! for a rejected ref.
func parsePorcelain(out string) map[string]upstreamResult {
	res := map[string]upstreamResult{}
	for _, line := range strings.Split(out, "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 || len(parts[0]) != 1 {
			continue
		}
		_, to, ok := strings.Cut(parts[1], ":")
		if !ok {
			continue
		}
		res[to] = upstreamResult{ok: parts[0] != "!", reason: cleanLine(parts[2])}
	}
	return res
}

// adopt moves a forwarded push's objects into the mirror and sets the
// refs the upstream accepted, so the next push's scan counts them as
// known without fetching them back.
func (g *Gate) adopt(ctx context.Context, rs *repoState, q *quarantine, done []command) {
	packs, _ := filepath.Glob(filepath.Join(q.objects, "pack", "*"))
	for _, p := range packs {
		dst := filepath.Join(rs.mirror, "objects", "pack", filepath.Base(p))
		if err := os.Rename(p, dst); err != nil {
			g.log.Warn("git gate: keep a pushed pack", "repo", rs.Name, "err", err)
			return
		}
	}
	for _, c := range done {
		args := []string{"update-ref", c.ref, c.new}
		if c.isDelete() {
			args = []string{"update-ref", "-d", c.ref}
		}
		if _, err := g.run(ctx, g.localEnv(rs), args...); err != nil {
			g.log.Warn("git gate: update the mirror's ref", "repo", rs.Name, "err", err)
		}
	}
}
