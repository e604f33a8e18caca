package schemas

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// GitGate is a manifest's git-gate block: the repositories the agent
// reaches through its bottle's git gate, and the identity its commits
// carry.
//
//	git-gate:
//	  user: {name: bot-bottle agent, email: agent@example.invalid}
//	  repos:
//	    app:
//	      url: https://github.com/myorg/app.git
//	      auth: {token_ref: GITHUB_TOKEN}
//	      push: [agent/*]
//	      force: false
//
// The user is a part of its own (the agent's commit identity, folded per
// field); the repos are folded by name (a child's repo replaces its
// parent's whole).
type GitGate struct {
	User  *GitUser           `yaml:"user" json:"user,omitempty"`
	Repos map[string]GitRepo `yaml:"repos" json:"repos,omitempty"`

	At      Location            `yaml:"-" json:"-"`
	KeyAt   map[string]Location `yaml:"-" json:"-"`
	ReposAt map[string]Location `yaml:"-" json:"-"`
}

// GitUser is the commit identity the agent's git config gives it.
type GitUser struct {
	Name  string `yaml:"name" json:"name,omitempty"`
	Email string `yaml:"email" json:"email,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// GitRepo is one repository of the gate.
type GitRepo struct {
	// URL is the upstream, https:// or ssh://, as the agent's git names
	// it; the agent's git config rewrites it to the gate.
	URL  string   `yaml:"url" json:"url"`
	Auth *GitAuth `yaml:"auth" json:"auth,omitempty"`
	// Push lists the branch patterns the agent may push (DefaultGitPush
	// when unset; an empty list allows no push).
	Push []string `yaml:"push" json:"push,omitempty"`
	// Force allows non-fast-forward updates and deletions of the branches
	// Push admits.
	Force bool `yaml:"force" json:"force,omitempty"`

	At     Location            `yaml:"-" json:"-"`
	KeyAt  map[string]Location `yaml:"-" json:"-"`
	PushAt []Location          `yaml:"-" json:"-"`
}

// GitAuth names the host credential the gate uses toward a repo's upstream:
// a token for https (sent as HTTP Basic with Username, default
// DefaultGitUsername), or an ssh key file for ssh. Each is a host
// environment variable name, never a value; the ssh ones hold file paths.
type GitAuth struct {
	TokenRef      string `yaml:"token_ref" json:"token_ref,omitempty"`
	Username      string `yaml:"username" json:"username,omitempty"`
	SSHKeyRef     string `yaml:"ssh_key_ref" json:"ssh_key_ref,omitempty"`
	KnownHostsRef string `yaml:"known_hosts_ref" json:"known_hosts_ref,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// DefaultGitPush is the push patterns of a repo that names none.
var DefaultGitPush = []string{"agent/*"}

// DefaultGitUsername is the user name sent with a token over https: the
// one GitHub documents for tokens; most forges accept any.
const DefaultGitUsername = "x-access-token"

// Compiled on first use: a bounded repetition compiles into that many
// copies, and every bot-bottle process (each bottle's init among them)
// paid for them at start.
var (
	gitRepoNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`) })
	gitUsernameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`) })
)

// CheckGitRepoName reports why name cannot name a git-gate repo, or "".
// The name is the repo's path on the gate (http://127.0.0.1:<port>/<name>).
func CheckGitRepoName(name string) string {
	if !gitRepoNameRe().MatchString(name) || strings.HasSuffix(name, ".git") {
		return "a repo name uses lower-case letters, digits, '.', '-' and '_' (at most 63), starts with a letter or digit and does not end in .git"
	}
	return ""
}

func (g *GitGate) validate() Errors {
	var errs Errors
	if g.User != nil {
		errs = append(errs, g.User.validate()...)
	} else if at, ok := g.KeyAt["user"]; ok {
		errs = append(errs, &Error{At: at, Key: "git-gate.user", Msg: "is empty", Hint: "give name and email, or remove it"})
	}
	for _, name := range sortedRepoNames(g.Repos) {
		r := g.Repos[name]
		key := "git-gate.repos." + name
		if why := CheckGitRepoName(name); why != "" {
			errs = append(errs, &Error{At: g.ReposAt[name], Key: key, Msg: why})
		}
		errs = append(errs, r.validate(key)...)
	}
	return errs
}

func (u *GitUser) validate() Errors {
	var errs Errors
	for _, f := range []struct{ key, v string }{{"name", u.Name}, {"email", u.Email}} {
		at, ok := u.KeyAt[f.key]
		if !ok {
			continue
		}
		if why := checkGitIdentity(f.v); why != "" {
			errs = append(errs, &Error{At: at, Key: "git-gate.user." + f.key, Msg: why})
		}
	}
	if len(u.KeyAt) == 0 {
		errs = append(errs, &Error{At: u.At, Key: "git-gate.user", Msg: "is empty", Hint: "give name and email, or remove it"})
	}
	return errs
}

// checkGitIdentity reports why v cannot be a commit author's name or
// email: git refuses <, > and line breaks there, and the value is written
// into a git config file.
func checkGitIdentity(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "must not be empty"
	case len(v) > 200:
		return "is longer than 200 characters"
	case strings.ContainsAny(v, "<>"):
		return "must not contain < or >"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "must not contain control characters or line breaks"
		}
	}
	return ""
}

func (r *GitRepo) validate(key string) Errors {
	var errs Errors
	add := func(field, msg, hint string) {
		at, ok := r.KeyAt[field]
		if !ok {
			at = r.At
		}
		k := key
		if field != "" {
			k += "." + field
		}
		errs = append(errs, &Error{At: at, Key: k, Msg: msg, Hint: hint})
	}
	var scheme string
	if _, ok := r.KeyAt["url"]; !ok {
		add("", "a repo needs a url", "add url: https://github.com/myorg/app.git")
	} else {
		u, why, hint := ParseGitURL(r.URL)
		if why != "" {
			add("url", why, hint)
		} else {
			scheme = u.Scheme
		}
	}
	if _, ok := r.KeyAt["auth"]; ok {
		errs = append(errs, r.Auth.validate(key+".auth", r.KeyAt["auth"], scheme)...)
	} else if scheme == "ssh" {
		add("", "an ssh repo needs auth.ssh_key_ref: the gate pushes with a host key", "auth: {ssh_key_ref: GIT_SSH_KEY_FILE}")
	}
	for i, p := range r.Push {
		if why := CheckGitPushPattern(p); why != "" {
			errs = append(errs, &Error{At: itemAt(r.PushAt, i, r.KeyAt["push"]), Key: fmt.Sprintf("%s.push[%d]", key, i), Msg: why,
				Hint: "e.g. agent/* (* within a segment, ** across segments)"})
		}
	}
	return errs
}

// validate checks an auth block present in the file against its repo's
// URL scheme ("" when the URL is broken).
func (a *GitAuth) validate(key string, at Location, scheme string) Errors {
	if a == nil || len(a.KeyAt) == 0 {
		return Errors{{At: at, Key: key, Msg: "is empty", Hint: "token_ref for an https repo, ssh_key_ref for an ssh repo"}}
	}
	var errs Errors
	add := func(field, msg, hint string) {
		errs = append(errs, &Error{At: a.KeyAt[field], Key: key + "." + field, Msg: msg, Hint: hint})
	}
	_, token := a.KeyAt["token_ref"]
	_, key1 := a.KeyAt["ssh_key_ref"]
	for _, f := range []struct{ name, v string }{{"token_ref", a.TokenRef}, {"ssh_key_ref", a.SSHKeyRef}, {"known_hosts_ref", a.KnownHostsRef}} {
		if _, ok := a.KeyAt[f.name]; ok && !IsHostRef(f.v) {
			add(f.name, "must name a host environment variable (upper-case letters, digits and _), not a value", "e.g. "+f.name+": "+hostRefExample(f.name))
		}
	}
	if _, ok := a.KeyAt["username"]; ok && !gitUsernameRe().MatchString(a.Username) {
		add("username", "must be letters, digits, '.', '-' and '_' (at most 64)", "")
	}
	switch {
	case token && key1:
		add("ssh_key_ref", "cannot be combined with token_ref: a repo has one credential", "token_ref for https, ssh_key_ref for ssh")
	case !token && !key1:
		errs = append(errs, &Error{At: a.At, Key: key, Msg: "needs token_ref (https) or ssh_key_ref (ssh)"})
	case scheme == "ssh" && token:
		add("token_ref", "is for https repos: an ssh repo uses ssh_key_ref", "")
	case scheme == "https" && key1:
		add("ssh_key_ref", "is for ssh repos: an https repo uses token_ref", "")
	}
	if _, ok := a.KeyAt["username"]; ok && !token {
		add("username", "goes with token_ref", "")
	}
	if _, ok := a.KeyAt["known_hosts_ref"]; ok && !key1 {
		add("known_hosts_ref", "goes with ssh_key_ref", "")
	}
	return errs
}

func hostRefExample(field string) string {
	switch field {
	case "ssh_key_ref":
		return "GIT_SSH_KEY_FILE"
	case "known_hosts_ref":
		return "GIT_KNOWN_HOSTS_FILE"
	}
	return "GITHUB_TOKEN"
}

func sortedRepoNames(m map[string]GitRepo) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
