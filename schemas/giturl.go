package schemas

import (
	"net/url"
	"strconv"
	"strings"
)

// GitURL is a git-gate repo's upstream URL, checked and taken apart.
type GitURL struct {
	Scheme string // https | ssh
	User   string // ssh only: the login (git@…), "" when none
	Host   string // a DNS name, normalised
	Port   int    // 0 for the scheme's default
	Path   string // starts with /, as written
}

// String is the URL as the gate dials it.
func (u GitURL) String() string {
	host := u.Host
	if u.Port != 0 {
		host += ":" + strconv.Itoa(u.Port)
	}
	user := ""
	if u.User != "" {
		user = u.User + "@"
	}
	return u.Scheme + "://" + user + host + u.Path
}

// Identity is what two URLs of the same repository share, whatever their
// scheme: the host, the port where one is given, and the path without a
// trailing / or .git, in lower case (forges compare paths without case).
func (u GitURL) Identity() string {
	p := strings.ToLower(strings.TrimSuffix(strings.TrimRight(u.Path, "/"), ".git"))
	return u.Host + p
}

// Base is the URL without a trailing / or .git: the prefix the agent's git
// config rewrites, so that both spellings of the repo reach the gate.
func (u GitURL) Base() string {
	b := u
	b.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), ".git")
	return b.String()
}

// SCPLike is the scp-like spelling of an ssh URL (git@host:org/app) that
// git also accepts, or "" when the URL has none (a port, or no user).
func (u GitURL) SCPLike() string {
	if u.Scheme != "ssh" || u.Port != 0 || u.User == "" {
		return ""
	}
	return u.User + "@" + u.Host + ":" + strings.TrimPrefix(strings.TrimSuffix(strings.TrimRight(u.Path, "/"), ".git"), "/")
}

// ParseGitURL checks a git-gate repo URL and takes it apart. It returns why
// the URL is refused and a hint, never echoing the value: a URL may carry a
// credential pasted into it.
func ParseGitURL(raw string) (GitURL, string, string) {
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return GitURL{}, "must not contain white space, control characters, quotes or backslashes", ""
		}
	}
	if !strings.Contains(raw, "://") {
		if strings.Contains(raw, "@") && strings.Contains(raw, ":") {
			return GitURL{}, "is scp-like (user@host:path); write it as an ssh:// URL", "e.g. ssh://git@github.com/myorg/app.git"
		}
		return GitURL{}, "must be an https:// or ssh:// URL", "e.g. https://github.com/myorg/app.git"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return GitURL{}, "is not a valid URL", ""
	}
	var g GitURL
	switch strings.ToLower(u.Scheme) {
	case "https", "ssh":
		g.Scheme = strings.ToLower(u.Scheme)
	case "http":
		return GitURL{}, "plain http is refused: the credential would travel in cleartext", "use https://"
	default:
		return GitURL{}, "must be an https:// or ssh:// URL (the gate speaks no other protocol)", "e.g. https://github.com/myorg/app.git"
	}
	if u.User != nil {
		if _, hasPass := u.User.Password(); hasPass || g.Scheme == "https" {
			return GitURL{}, "must not carry user info or a password: credentials go in auth (token_ref, ssh_key_ref)", ""
		}
		g.User = u.User.Username()
		if !gitUsernameRe().MatchString(g.User) {
			return GitURL{}, "has an ssh user that is not letters, digits, '.', '-' and '_'", ""
		}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return GitURL{}, "must not have a query or fragment", ""
	}
	host := u.Hostname()
	if why := CheckHostName(host); why != "" {
		return GitURL{}, "host " + why, ""
	}
	g.Host = NormalizeHost(host)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return GitURL{}, "port must be between 1 and 65535", ""
		}
		if !(g.Scheme == "https" && n == 443) && !(g.Scheme == "ssh" && n == 22) {
			g.Port = n
		}
	}
	g.Path = u.Path
	if u.RawPath != "" || strings.Contains(raw[strings.Index(raw, "://")+3:], "%") {
		return GitURL{}, "path must be written without %-escapes", ""
	}
	trimmed := strings.TrimSuffix(strings.TrimRight(g.Path, "/"), ".git")
	if trimmed == "" || trimmed == "/" {
		return GitURL{}, "must name a repository (a path after the host)", ""
	}
	for _, seg := range strings.Split(strings.TrimPrefix(g.Path, "/"), "/") {
		if seg == "." || seg == ".." {
			return GitURL{}, "path must not contain . or .. segments", ""
		}
	}
	if strings.Contains(g.Path, "//") {
		return GitURL{}, "path must not contain an empty segment (//)", ""
	}
	return g, "", ""
}

// GitURLsOverlap reports whether two repos' URLs name the same repository
// or one lies inside the other (a prefix the agent's git config would
// rewrite for both).
func GitURLsOverlap(a, b GitURL) bool {
	x, y := a.Identity(), b.Identity()
	if a.Port != b.Port {
		return false
	}
	return x == y || strings.HasPrefix(x, y+"/") || strings.HasPrefix(y, x+"/")
}

// CheckGitPushPattern reports why p is not a usable push pattern, or "".
// A pattern is a branch name (without refs/heads/) in which * stands for
// any characters within one segment and a whole segment ** for any
// segments.
func CheckGitPushPattern(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case strings.HasPrefix(p, "refs/"):
		return "is a branch name or pattern, written without refs/heads/"
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		return "must not start or end with / or contain //"
	case strings.HasPrefix(p, "-") || strings.HasPrefix(p, "."):
		return "must not start with - or ."
	case strings.Contains(p, ".."), strings.Contains(p, "@{"), strings.HasSuffix(p, ".lock"), strings.HasSuffix(p, "."):
		return "is not a valid git branch name (.., @{, a trailing . or .lock)"
	case len(p) > 200:
		return "is longer than 200 characters"
	}
	for _, r := range p {
		if r <= 0x20 || r == 0x7f || strings.ContainsRune("~^:?[\\", r) {
			return "must not contain white space, control characters or any of ~ ^ : ? [ \\"
		}
	}
	globstars := 0
	for _, seg := range strings.Split(p, "/") {
		if strings.Contains(seg, "**") && seg != "**" {
			return "** must be a whole segment (agent/**)"
		}
		if seg == "**" {
			globstars++
		}
	}
	if globstars > 2 {
		return "has more than two ** segments"
	}
	return ""
}

// MatchGitPush reports whether branch (without refs/heads/) matches the
// push pattern p: * matches any characters but /, a ** segment matches any
// number of segments (at least one).
func MatchGitPush(p, branch string) bool {
	return matchSegs(strings.Split(p, "/"), strings.Split(branch, "/"))
}

func matchSegs(ps, bs []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			rest := ps[1:]
			for i := 1; i <= len(bs); i++ {
				if matchSegs(rest, bs[i:]) {
					return true
				}
			}
			return false
		}
		if len(bs) == 0 || !matchStar(ps[0], bs[0]) {
			return false
		}
		ps, bs = ps[1:], bs[1:]
	}
	return len(bs) == 0
}

// matchStar matches one segment against a pattern whose only wildcard is
// *, which matches any run of characters: the linear greedy match that
// backtracks only to the last star.
func matchStar(p, s string) bool {
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
