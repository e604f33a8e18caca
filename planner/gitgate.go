package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// git-gate folds along extends like the seed's: the user per field
// (last-wins), the repos as a union by name in which a later manifest's
// repo replaces the earlier one whole.

// gitFolded is git-gate after folding.
type gitFolded struct {
	set   bool                      // some manifest of the chain has git-gate
	user  map[string]gitUserField   // "name" | "email"
	repos map[string]sourcedGitRepo // by name
}

type gitUserField struct{ value, origin string }

type sourcedGitRepo struct {
	repo   schemas.GitRepo
	at     schemas.Location // the repo's position, File relative to the bottles folder
	origin string
}

// absorbGit folds a parent's git-gate into g.
func (g *gitFolded) absorbGit(p gitFolded) {
	if !p.set {
		return
	}
	g.init()
	for k, v := range p.user {
		g.user[k] = v
	}
	for k, v := range p.repos {
		g.repos[k] = v
	}
}

func (g *gitFolded) init() {
	if !g.set {
		g.set, g.user, g.repos = true, map[string]gitUserField{}, map[string]sourcedGitRepo{}
	}
}

// absorbGitManifest folds one manifest's git-gate; short is its file name.
func (g *gitFolded) absorbGitManifest(gg *schemas.GitGate, short string) {
	if gg == nil {
		return
	}
	g.init()
	if u := gg.User; u != nil {
		for field, v := range map[string]string{"name": u.Name, "email": u.Email} {
			if at, ok := u.KeyAt[field]; ok {
				at.File = short
				g.user[field] = gitUserField{value: v, origin: at.String()}
			}
		}
	}
	for name, r := range gg.Repos {
		at := gg.ReposAt[name]
		at.File = short
		g.repos[name] = sourcedGitRepo{repo: r, at: at, origin: at.String()}
	}
}

// planGitGate builds the gate's plan and the agent's git config, and
// refuses repos that overlap (the same repository twice, or one inside
// another: the agent's git config could not tell them apart).
func planGitGate(g gitFolded, env map[string]string) (*schemas.GitGatePlan, []string, error) {
	if !g.set {
		return nil, nil, nil
	}
	names := make([]string, 0, len(g.repos))
	for n := range g.repos {
		names = append(names, n)
	}
	slices.Sort(names)
	plan := &schemas.GitGatePlan{Repos: []schemas.GitRepoPlan{}}
	if len(g.user) > 0 {
		plan.User = &schemas.GitUserPlan{Name: g.user["name"].value, NameOrigin: g.user["name"].origin,
			Email: g.user["email"].value, EmailOrigin: g.user["email"].origin}
	}
	var errs schemas.Errors
	var warn []string
	urls := map[string]schemas.GitURL{}
	for _, name := range names {
		sr := g.repos[name]
		u, why, _ := schemas.ParseGitURL(sr.repo.URL)
		if why != "" {
			return nil, nil, fmt.Errorf("planner bug: repo %s passed parsing with a bad url: %s", name, why)
		}
		for _, other := range names {
			if o, ok := urls[other]; ok && schemas.GitURLsOverlap(u, o) {
				errs = append(errs, &schemas.Error{At: urlAt(sr), Key: "git-gate.repos." + name + ".url",
					Msg:  fmt.Sprintf("overlaps repo %s (%s): both name the same repository, or one lies inside the other", other, g.repos[other].origin),
					Hint: "keep one repo per upstream repository"})
			}
		}
		urls[name] = u
		rp := schemas.GitRepoPlan{Name: name, URL: sr.repo.URL, Path: "/" + name, Push: sr.repo.Push, Force: sr.repo.Force,
			Origin: sr.origin, Rewrites: gitRewrites(u)}
		if _, set := sr.repo.KeyAt["push"]; !set {
			rp.Push = slices.Clone(schemas.DefaultGitPush)
		} else if rp.Push == nil {
			rp.Push = []string{}
		}
		if a := sr.repo.Auth; a != nil {
			rp.Auth = gitAuthPlan(a, env)
			if !rp.Auth.Set {
				warn = append(warn, fmt.Sprintf("git-gate repo %s: %s is not set on this host; launching will fail until it is", name, gitAuthRefs(rp.Auth)))
			}
		} else {
			warn = append(warn, fmt.Sprintf("git-gate repo %s has no auth: the gate fetches and pushes without a credential", name))
		}
		plan.Repos = append(plan.Repos, rp)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	plan.Config = gitConfig(plan)
	return plan, warn, nil
}

func urlAt(sr sourcedGitRepo) schemas.Location {
	if at, ok := sr.repo.KeyAt["url"]; ok {
		at.File = sr.at.File
		return at
	}
	return sr.at
}

// gitRewrites are the URL prefixes the agent's git sends to the gate: the
// upstream without .git (so both spellings match) and, for ssh, its
// scp-like spelling.
func gitRewrites(u schemas.GitURL) []string {
	out := []string{u.Base()}
	if s := u.SCPLike(); s != "" {
		out = append(out, s)
	}
	return out
}

func gitAuthPlan(a *schemas.GitAuth, env map[string]string) *schemas.GitAuthPlan {
	if a.SSHKeyRef != "" {
		p := &schemas.GitAuthPlan{Kind: schemas.GitAuthSSH, SSHKeyRef: a.SSHKeyRef, KnownHostsRef: a.KnownHostsRef}
		p.Set = env[a.SSHKeyRef] != "" && (a.KnownHostsRef == "" || env[a.KnownHostsRef] != "")
		return p
	}
	user := a.Username
	if user == "" {
		user = schemas.DefaultGitUsername
	}
	return &schemas.GitAuthPlan{Kind: schemas.GitAuthToken, TokenRef: a.TokenRef, Username: user, Set: env[a.TokenRef] != ""}
}

// gitAuthRefs names the host variables of a credential, for a person.
func gitAuthRefs(a *schemas.GitAuthPlan) string {
	if a.Kind == schemas.GitAuthSSH {
		if a.KnownHostsRef != "" {
			return "$" + a.SSHKeyRef + " (key file) or $" + a.KnownHostsRef + " (known_hosts file)"
		}
		return "$" + a.SSHKeyRef + " (key file)"
	}
	return "$" + a.TokenRef
}

// GitConfigFile is the agent's git config in its home: the gate's URL
// rewrites and the commit identity. It lives in the home because the
// workdir's .git/config is read-only in every bottle.
const GitConfigFile = ".gitconfig"

// gitConfig is the agent's ~/.gitconfig: the commit identity, then one
// url.<gate>.insteadOf per rewrite. <git-gate-url> is filled at launch.
func gitConfig(p *schemas.GitGatePlan) string {
	var b strings.Builder
	b.WriteString("# Written by bot-bottle for this bottle: its git gate.\n" +
		"# Fetches and pushes of these repos go to the gate, which holds the credentials\n" +
		"# and scans what you push; a refused push says why.\n")
	b.WriteString(gitUserSection(p.User))
	for _, r := range p.Repos {
		fmt.Fprintf(&b, "[url %s]\n", gitQuote(PlaceholderGitGateURL+r.Path))
		for _, rw := range r.Rewrites {
			fmt.Fprintf(&b, "\tinsteadOf = %s\n", gitQuote(rw))
		}
	}
	return b.String()
}

// gitUserSection is the [user] part of the agent's git config, "" when no
// identity is set: its own function, so that an agent definition can
// overlay the identity without touching the rewrites.
func gitUserSection(u *schemas.GitUserPlan) string {
	if u == nil || (u.Name == "" && u.Email == "") {
		return ""
	}
	s := "[user]\n"
	if u.Name != "" {
		s += "\tname = " + gitQuote(u.Name) + "\n"
	}
	if u.Email != "" {
		s += "\temail = " + gitQuote(u.Email) + "\n"
	}
	return s
}

// gitQuote quotes a git config value or subsection name. Values were
// checked free of control characters; quotes and backslashes are escaped.
func gitQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// formatGitGate writes the git gate for a person: each repo, where its
// pushes may go, the host variable of its credential (never its value),
// and the agent's git config.
func formatGitGate(b *strings.Builder, g *schemas.GitGatePlan) {
	if g == nil {
		return
	}
	fmt.Fprintf(b, "\nGit gate (%d repos; fetch through, pushes scanned and sent with the host's credential):\n", len(g.Repos))
	for _, r := range g.Repos {
		push := "no pushes"
		if len(r.Push) > 0 {
			push = "push " + strings.Join(r.Push, " ")
			if r.Force {
				push += " (force allowed)"
			} else {
				push += " (fast-forward only, no deletions)"
			}
		}
		cred := "no credential"
		if a := r.Auth; a != nil {
			state := "set"
			if !a.Set {
				state = "NOT SET"
			}
			if a.Kind == schemas.GitAuthSSH {
				cred = "ssh key <- " + gitAuthRefs(a) + " (" + state + ")"
			} else {
				cred = "token <- $" + a.TokenRef + " as " + a.Username + " (" + state + ")"
			}
		}
		fmt.Fprintf(b, "  %s  %s\n    %s; %s; %s\n", r.Name, r.URL, push, cred, r.Origin)
	}
	if u := g.User; u != nil {
		fmt.Fprintf(b, "  commits by: %s <%s>\n", u.Name, u.Email)
	}
	b.WriteString("  the agent's ~/.gitconfig (<git-gate-url> is the gate inside the bottle):\n")
	for _, line := range strings.Split(strings.TrimRight(g.Config, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
}
