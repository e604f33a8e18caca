package gitgate

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"path/filepath"
	"strings"
)

// Fetches are served by real git: `git http-backend` on the mirror, with
// the gate's environment only (no hooks, no config of the operator's).
// Each ref advertisement first refreshes the mirror from the upstream, so
// the agent sees fresh refs; an upstream that cannot be reached fails the
// fetch with a message the agent's git prints.

// serveUploadAdvert answers /info/refs?service=git-upload-pack.
func (g *Gate) serveUploadAdvert(w http.ResponseWriter, r *http.Request, rs *repoState) {
	if !g.freshen(w, r, rs) {
		return
	}
	g.backend(w, r, rs)
}

// serveUploadPack answers POST /git-upload-pack.
func (g *Gate) serveUploadPack(w http.ResponseWriter, r *http.Request, rs *repoState) {
	rs.mu.Lock()
	ready := rs.ready
	rs.mu.Unlock()
	if !ready {
		gitError(w, http.StatusConflict, "bot-bottle git gate: fetch the refs first (info/refs)")
		return
	}
	g.backend(w, r, rs)
}

// freshen refreshes rs's mirror and reports whether it could; when not, it
// has answered the request.
func (g *Gate) freshen(w http.ResponseWriter, r *http.Request, rs *repoState) bool {
	rs.mu.Lock()
	err := g.refresh(r.Context(), rs)
	rs.mu.Unlock()
	if err != nil {
		g.log.Warn("git gate: refresh from the upstream", "bottle", g.cfg.Bottle, "repo", rs.Name, "err", err)
		gitError(w, http.StatusBadGateway, fmt.Sprintf("bot-bottle git gate: the upstream of repo %s (%s) cannot be reached, so nothing is served from a stale copy:\n%s",
			rs.Name, rs.URL.String(), cleanLine(strings.TrimPrefix(err.Error(), errUnreachable.Error()+": "))))
		return false
	}
	return true
}

// backend hands the request to `git http-backend` on the mirror.
func (g *Gate) backend(w http.ResponseWriter, r *http.Request, rs *repoState) {
	_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + rs.Name + ".git/" + rest
	env := append(g.localEnv(rs), "GIT_PROJECT_ROOT="+filepath.Dir(rs.mirror), "GIT_HTTP_EXPORT_ALL=1")
	h := &cgi.Handler{
		Path: g.cfg.Git,
		Args: []string{"http-backend"},
		Root: "/",
		Dir:  g.cfg.Dir,
		Env:  withoutGitDir(env),
		// The agent's request headers reach http-backend as HTTP_*
		// variables (Git-Protocol among them); nothing of the owner's
		// environment does.
		InheritEnv: nil,
		Logger:     nil,
		Stderr:     &bytes.Buffer{},
	}
	h.ServeHTTP(w, r2)
}

// withoutGitDir drops GIT_DIR: http-backend finds the repo from its path.
func withoutGitDir(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "GIT_DIR=") {
			out = append(out, e)
		}
	}
	return out
}

// serveReceiveAdvert answers /info/refs?service=git-receive-pack with the
// mirror's branches and tags, fresh from the upstream, and the
// capabilities the gate itself implements.
func (g *Gate) serveReceiveAdvert(w http.ResponseWriter, r *http.Request, rs *repoState) {
	if len(rs.Push) == 0 {
		gitError(w, http.StatusForbidden, fmt.Sprintf("bot-bottle git gate: repo %s allows no push (its git-gate push list is empty)", rs.Name))
		return
	}
	if !g.freshen(w, r, rs) {
		return
	}
	rs.mu.Lock()
	refs, err := g.refs(r.Context(), rs)
	rs.mu.Unlock()
	if err != nil {
		gitError(w, http.StatusInternalServerError, "bot-bottle git gate: read the mirror's refs: "+cleanLine(err.Error()))
		return
	}
	var b bytes.Buffer
	b.Write(pktString("# service=git-receive-pack\n"))
	b.Write(flushPkt)
	if len(refs) == 0 {
		b.Write(pktString(zeroID + " capabilities^{}\x00" + receiveCaps + "\n"))
	}
	for i, ref := range refs {
		line := ref.id + " " + ref.name
		if i == 0 {
			line += "\x00" + receiveCaps
		}
		b.Write(pktString(line + "\n"))
	}
	b.Write(flushPkt)
	w.Header().Set("Content-Type", "application/x-git-receive-pack-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b.Bytes())
}

// receiveCaps are the receive-pack capabilities the gate implements.
const receiveCaps = "report-status delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1 agent=bot-bottle-git-gate"

// zeroID is the object id of "no object" (a ref created or deleted).
const zeroID = "0000000000000000000000000000000000000000"

// mirrorRef is one ref of the mirror.
type mirrorRef struct{ id, name string }

// refs lists the mirror's branches and tags. rs.mu is held.
func (g *Gate) refs(ctx context.Context, rs *repoState) ([]mirrorRef, error) {
	out, err := g.run(ctx, g.localEnv(rs), "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", "refs/tags/")
	if err != nil {
		return nil, err
	}
	var refs []mirrorRef
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if id, name, ok := strings.Cut(line, " "); ok {
			refs = append(refs, mirrorRef{id: id, name: name})
		}
	}
	return refs, nil
}
