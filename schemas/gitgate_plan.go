package schemas

// GitGatePlan is the git gate a bottle will have: its repos as the gate
// enforces them, the commit identity, and the agent's git config. It names
// credentials by host variable only.
type GitGatePlan struct {
	// User is the agent's commit identity, nil when no manifest sets one
	// (the agent's git then needs its own).
	User  *GitUserPlan  `json:"user,omitempty"`
	Repos []GitRepoPlan `json:"repos"`
	// Config is the agent's ~/.gitconfig, with the gate's address as the
	// placeholder <git-gate-url> until launch.
	Config string `json:"git_config"`
}

// GitUserPlan is the commit identity, each field with the manifest
// position that set it.
type GitUserPlan struct {
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	NameOrigin  string `json:"name_origin,omitempty"`
	EmailOrigin string `json:"email_origin,omitempty"`
}

// GitRepoPlan is one repo of the gate.
type GitRepoPlan struct {
	Name string `json:"name"`
	URL  string `json:"url"` // the upstream as written in the manifest
	// Rewrites are the URL prefixes the agent's git config sends to the
	// gate's Path.
	Rewrites []string     `json:"rewrites"`
	Path     string       `json:"gate_path"` // /<name> on the gate
	Push     []string     `json:"push"`      // branch patterns; empty: no push
	Force    bool         `json:"force,omitempty"`
	Auth     *GitAuthPlan `json:"auth,omitempty"`
	Origin   string       `json:"origin"` // file:line:col of the repo
}

// Git credential kinds.
const (
	GitAuthToken = "token" // https, HTTP Basic with the token as password
	GitAuthSSH   = "ssh"   // ssh, a key file
)

// GitAuthPlan names a repo's host credential: variables, never values.
// Set reports whether the planning host has each named variable set.
type GitAuthPlan struct {
	Kind          string `json:"kind"`
	TokenRef      string `json:"token_ref,omitempty"`
	Username      string `json:"username,omitempty"`
	SSHKeyRef     string `json:"ssh_key_ref,omitempty"`
	KnownHostsRef string `json:"known_hosts_ref,omitempty"`
	Set           bool   `json:"set"`
}

// KindGitPush is the event of one push through a git gate (GitPush): every
// push, forwarded or refused, is one.
const KindGitPush Kind = "git.push"

// Verdicts of a push through the gate.
const (
	PushForwarded = "forwarded" // the upstream accepted every ref
	PushRefused   = "refused"   // the gate refused it (rules, findings, a check that could not run)
	PushFailed    = "failed"    // the gate forwarded it and the upstream refused (part of) it
)

// GitPush is one push through a bottle's git gate: the payload of a
// KindGitPush event and the audit line. It never holds a secret: findings
// name rule, file, line and commit.
type GitPush struct {
	Repo    string       `json:"repo"`
	URL     string       `json:"url"`
	Refs    []GitRefPush `json:"refs"`
	Commits int          `json:"commits"`         // new commits, scanned
	Head    []string     `json:"heads,omitempty"` // the new tips
	Verdict string       `json:"verdict"`
	Reason  string       `json:"reason,omitempty"` // why it was refused, for a person
	// Findings are the secrets the scan found (none when clean or when
	// the operator released them).
	Findings   []GitFinding `json:"findings,omitempty"`
	Released   int          `json:"released,omitempty"` // findings the operator released
	ProposalID string       `json:"proposal_id,omitempty"`
	// Upstream is the upstream's answer, for a forwarded push.
	Upstream string `json:"upstream,omitempty"`
}

// GitRefPush is one ref of a push and what became of it.
type GitRefPush struct {
	Ref    string `json:"ref"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Status string `json:"status"`           // ok | refused | rejected (by the upstream)
	Reason string `json:"reason,omitempty"` // for a person
}

// GitFinding is one secret found in a pushed commit. File is the agent's
// text (a path in its commit): render it escaped.
type GitFinding struct {
	Rule   string `json:"rule"`
	Commit string `json:"commit"`
	File   string `json:"file"`           // "" for the commit message
	Line   int    `json:"line,omitempty"` // 1-based in the new file
}

// FindingOutsideFiles says where a finding with no File is: the gate scans
// the commit object as stored, so it may be in any of its headers.
const FindingOutsideFiles = "the commit (its message, author or headers) or a file name"

// PushReview is a push the gate refused because its new commits carry
// secrets: the Push of a proposal of kind ProposalPush. Approving it
// releases those findings, so the agent's next push of the same commits
// is forwarded; denying it keeps them refused.
type PushReview struct {
	Repo     string       `json:"repo"`
	URL      string       `json:"url"`
	Refs     []string     `json:"refs"`
	Commits  []string     `json:"commits"` // the commits that carry findings
	Findings []GitFinding `json:"findings"`
}
