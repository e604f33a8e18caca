package schemas

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Proposal statuses, as the agent and the operator see them.
const (
	ProposalPending  = "pending"
	ProposalApproved = "approved"
	ProposalDenied   = "denied"
	// ProposalRefused means a decision was made but could not be applied:
	// the bottle had stopped, the table had changed (stale), or the
	// proposal had already been decided.
	ProposalRefused = "refused"
	// ProposalExpired means the bottle ended while the proposal was
	// pending: nothing is left to apply a decision to (see Expired).
	ProposalExpired = "expired"
)

// Decision actions and scopes.
const (
	ActionApprove = "approve"
	ActionModify  = "modify"
	ActionDeny    = "deny"

	ScopeOnce    = "once"    // for this bottle's life
	ScopePersist = "persist" // also written into the bottle's manifest
)

// Who decided, for the audit log.
const (
	DecidedByMCP = "mcp"
	DecidedByCLI = "cli"
	DecidedByWeb = "web"
)

// Proposal is an agent's request for more egress, validated and with its
// exact effect on the bottle's routes table. It is the payload of a
// KindProposal event; a merged duplicate is published again with the same
// ID and a higher Count.
type Proposal struct {
	ID string `json:"proposal_id"`
	// Kind is ProposalEgress (also when empty) for a route-table change,
	// ProposalRelease for a request held by the proxy's DLP, ProposalPush
	// for a push the git gate refused for its secrets.
	Kind          string    `json:"kind,omitempty"`
	Bottle        string    `json:"bottle"`
	Host          string    `json:"host"`
	Port          int       `json:"port,omitempty"`
	PathPrefixes  []string  `json:"path_prefixes,omitempty"`
	Methods       []string  `json:"methods,omitempty"`
	Justification string    `json:"justification"`
	DenialIDs     []string  `json:"denial_ids,omitempty"`
	Delta         string    `json:"delta"`       // for a person: "new host pypi.org; paths +/simple/"
	Route         RouteRule `json:"route"`       // the route as it will be if approved
	BaseDigest    string    `json:"base_digest"` // the live table the delta was computed against
	Count         int       `json:"count"`       // how many identical requests were merged into it
	Time          time.Time `json:"time"`
	// Release is the held request, for Kind ProposalRelease.
	Release *Release `json:"release,omitempty"`
	// Push is the refused push, for Kind ProposalPush.
	Push *PushReview `json:"push,omitempty"`
	// Persist is what approving with scope persist would write, worked out
	// when the proposal was made (or last merged), so the operator sees
	// the file and the diff before deciding.
	Persist *PersistPreview `json:"persist,omitempty"`
	// WaitUntil is when the agent's waiting call gives up and answers
	// pending (the agent may then wait again with proposal_status).
	WaitUntil time.Time `json:"wait_until,omitzero"`
}

// PersistPreview is the manifest edit an approval with scope persist would
// make: the file and its unified diff, or why persist is unavailable.
type PersistPreview struct {
	Manifest    string `json:"manifest,omitempty"`
	Diff        string `json:"diff,omitempty"`
	Unavailable string `json:"unavailable,omitempty"`
}

// Proposal kinds.
const (
	ProposalEgress  = "egress"  // the agent asks for a wider routes table
	ProposalRelease = "release" // the proxy holds a request that carries a secret
	ProposalPush    = "push"    // the git gate refused a push whose new commits carry secrets
)

// Release is a request the egress proxy holds because it carries a secret
// and its route's DLP policy is supervise: approving the proposal releases
// it, denying it (or the hold timing out) refuses it. It never holds the
// secret: Excerpt is the agent's text around it with every finding
// replaced by the name of its rule.
type Release struct {
	Host    string    `json:"host"`              // the held request's host
	Port    int       `json:"port,omitempty"`    // its port, when not the default
	Rules   []string  `json:"rules"`             // what was found, e.g. ["aws-access-token"]
	Where   []string  `json:"where"`             // url | header | body
	Method  string    `json:"method"`            // the held request's method
	Path    string    `json:"path"`              // as shown in denials: query and tokens redacted
	Excerpt string    `json:"excerpt,omitempty"` // agent-written text, secrets replaced; shown as the agent's
	Until   time.Time `json:"until"`             // when the hold times out and the request is refused
}

// Decision is an operator's answer to a proposal: the payload of a
// KindDecision event, published by whoever decided and applied by the
// process that owns the bottle.
type Decision struct {
	ProposalID string    `json:"proposal_id"`
	Bottle     string    `json:"bottle"`
	Action     string    `json:"action"` // approve | modify | deny
	Scope      string    `json:"scope"`  // once | persist (approve, modify)
	Reason     string    `json:"reason,omitempty"`
	Route      *Route    `json:"route,omitempty"` // modify: the operator's route (manifest form; auth only by token_ref, persist only)
	DecidedBy  string    `json:"decided_by"`      // mcp | cli | web
	Time       time.Time `json:"time"`
	// For limits a scope-once approve or modify: the route lasts this
	// long (a Go duration, e.g. "30m0s") and then its bottle's owner
	// removes it. Empty: the route lasts for the bottle's life.
	For string `json:"for,omitempty"`
}

// Applied is the outcome of a decision as the bottle's owner applied it: the
// payload of a KindApplied event, and what the agent's waiting call returns.
// Before and After are the live tables around the reload (equal when
// nothing was applied); they hold no secret.
type Applied struct {
	ProposalID string      `json:"proposal_id"`
	Bottle     string      `json:"bottle"`
	Status     string      `json:"status"` // approved | denied | refused
	Notes      string      `json:"notes"`
	Route      *RouteRule  `json:"route,omitempty"`
	Action     string      `json:"action"`
	Scope      string      `json:"scope,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	DecidedBy  string      `json:"decided_by"`
	Before     *RoutesFile `json:"before,omitempty"`
	After      *RoutesFile `json:"after,omitempty"`
	Diff       string      `json:"manifest_diff,omitempty"` // persist: the manifest edit
	// For and ExpiresAt are the time limit of an approval (Decision.For)
	// and when, by the owner's clock, the route it added is removed.
	For       string    `json:"for,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Duplicate marks the refusal of a second decision on a proposal that
	// was already decided; the first decision's outcome stands.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Expired records that a pending proposal can no longer be decided because
// its bottle ended: the payload of a KindExpired event. Whoever notices
// first publishes it: the bottle's owner as the bottle ends, or any process
// that finds the owner dead. NewExpiredEvent derives the event's id from
// the proposal, so two processes noticing at once store it once.
type Expired struct {
	ProposalID string `json:"proposal_id"`
	Bottle     string `json:"bottle"`
	// EndedAt is when the bottle ended, as its last lifecycle event says;
	// for an owner that died without saying so, when that was noticed.
	EndedAt time.Time `json:"ended_at"`
	State   string    `json:"state"`         // the bottle's last state: exited | failed
	Why     string    `json:"why,omitempty"` // "exited with code 0", "its owner (pid 42) died"
	// NoticedBy says who published it: "owner" or "pid N".
	NoticedBy string `json:"noticed_by"`
}

// Notes says why the proposal can no longer be decided, for the operator
// and the agent: "expired: the bottle ended at 2026-01-02T03:04:05Z (exited
// with code 0)".
func (e Expired) Notes() string {
	s := fmt.Sprintf("expired: the bottle ended at %s", e.EndedAt.UTC().Format(time.RFC3339))
	if e.Why != "" {
		s += " (" + e.Why + ")"
	}
	return s
}

// expiredNamespace names the ids of expiry events (a UUIDv5 namespace).
var expiredNamespace = uuid.MustParse("6f1d3c2e-9b1a-4f0e-8a57-2c3d4e5f6a7b")

// NewExpiredEvent builds the KindExpired event of e. Its id is a name-based
// UUID (v5) of the proposal id rather than a fresh UUIDv7: the store keeps
// one event per id, so expiry is idempotent across every process that
// notices the end, and the first one stored stands.
func NewExpiredEvent(e Expired) (Event, error) {
	ev, err := NewEvent(e.Bottle, KindExpired, e)
	if err != nil {
		return Event{}, err
	}
	ev.ID = uuid.NewSHA1(expiredNamespace, []byte(e.ProposalID)).String()
	return ev, nil
}

// RouteExpired records that the time limit of an approval ran out and its
// bottle's owner removed the route it had added: the payload of a
// KindRouteExpired event. Before and After are the live tables around the
// reload; Superseded says the route had been changed by a later decision
// since, which then stands (nothing was reloaded).
type RouteExpired struct {
	ProposalID string      `json:"proposal_id"`
	Bottle     string      `json:"bottle"`
	Route      RouteRule   `json:"route"` // the route the approval added, now gone
	For        string      `json:"for"`
	ExpiresAt  time.Time   `json:"expires_at"`
	RemovedAt  time.Time   `json:"removed_at"`
	Superseded bool        `json:"superseded,omitempty"`
	Before     *RoutesFile `json:"before,omitempty"`
	After      *RoutesFile `json:"after,omitempty"`
	Notes      string      `json:"notes"`
}
