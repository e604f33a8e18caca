package schemas

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Kind names what an event is about. Its payload type follows from it.
type Kind string

// Event kinds. The payload of each is the type named beside it.
const (
	KindDenial    Kind = "egress.denial"    // Denial
	KindReload    Kind = "egress.reload"    // Reload
	KindLifecycle Kind = "bottle.lifecycle" // Lifecycle
	// KindStopRequested asks a bottle's owner to stop it: another process
	// never stops a bottle itself, it asks on the channel.
	KindStopRequested Kind = "bottle.stop_requested" // StopRequest
	KindProposal      Kind = "review.proposal"       // Proposal
	KindDecision      Kind = "review.decision"       // Decision
	KindApplied       Kind = "review.applied"        // Applied
	KindExpired       Kind = "review.expired"        // Expired
	// KindRouteExpired reports a time-limited approval's route removed.
	KindRouteExpired Kind = "review.route_expired" // RouteExpired
	// KindLimit reports a running bottle meeting a resource limit.
	KindLimit Kind = "bottle.limit" // LimitReached
)

// Event is one entry on the shared channel. ID is unique across every
// process (a UUIDv7, so it also sorts by creation time; an event that must
// be stored once whichever process publishes it has a name-based UUIDv5
// instead, see NewExpiredEvent); Seq is assigned by
// the durable store and is gapless per bottle; Pos is the store's global
// position, increasing in commit order across all bottles, so that a reader
// of every bottle can resume where it stopped (it has gaps where retention
// removed events). Payloads never carry secret values, and paths in them
// have their query strings redacted (RedactQuery).
type Event struct {
	ID      string          `json:"id"`
	Bottle  string          `json:"bottle"`
	Seq     uint64          `json:"seq,omitempty"`
	Pos     uint64          `json:"pos,omitempty"`
	Time    time.Time       `json:"time"`
	Kind    Kind            `json:"kind"`
	Payload json.RawMessage `json:"payload"`
}

// NewEvent builds an event with a fresh id and the current time. It fails
// only if payload cannot be encoded as JSON.
func NewEvent(bottle string, kind Kind, payload any) (Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("new event id: %w", err)
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s payload: %w", kind, err)
	}
	return Event{ID: id.String(), Bottle: bottle, Time: time.Now().UTC(), Kind: kind, Payload: raw}, nil
}

// Decode unmarshals the payload into v, which should be the type documented
// for the event's Kind.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return fmt.Errorf("decode %s payload of event %s: %w", e.Kind, e.ID, err)
	}
	return nil
}

// Denial is a request the egress proxy refused. The same value is the body of
// the 403 the agent receives and the payload of the KindDenial event.
type Denial struct {
	Error  string    `json:"error"`
	ID     string    `json:"denial_id"`
	Bottle string    `json:"bottle"`
	Host   string    `json:"host"`
	Port   int       `json:"port,omitempty"`
	Method string    `json:"method"`
	Path   string    `json:"path"` // query string redacted
	Reason string    `json:"reason"`
	Hint   string    `json:"hint"`
	Time   time.Time `json:"time"`
	// Rule names what a DLP refusal found (a gitleaks rule id such as
	// "aws-access-token", or "host-secret"), never the value.
	Rule string `json:"rule,omitempty"`
}

// Reload reports an attempt to swap a live proxy's routes table.
type Reload struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Source string `json:"source"` // "sighup", "api", "decision"
	Before int    `json:"routes_before"`
	After  int    `json:"routes_after"`
	// Table digests let a reader see that the table changed without the
	// table itself; review events carry the tables.
	BeforeDigest string `json:"before_digest,omitempty"`
	AfterDigest  string `json:"after_digest,omitempty"`
}

// Bottle lifecycle states.
const (
	StateStarting = "starting"
	StateRunning  = "running"
	StateStopping = "stopping"
	StateExited   = "exited"
	StateFailed   = "failed"
)

// TerminalState reports whether a lifecycle state is final: the bottle
// ended and nothing of it runs.
func TerminalState(state string) bool { return state == StateExited || state == StateFailed }

// Lifecycle reports a bottle changing state.
type Lifecycle struct {
	State   string `json:"state"`
	Name    string `json:"name"` // the manifest name
	Backend string `json:"backend,omitempty"`
	// Runtime is the container runtime of a docker bottle (RuntimeRunc,
	// RuntimeRunsc), known from the first event on.
	Runtime  string `json:"runtime,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Error    string `json:"error,omitempty"`
	Owner    int    `json:"owner_pid,omitempty"`
	// OwnerStart is the owner's start time (clock ticks since boot), so a
	// reused pid is not mistaken for a live owner.
	OwnerStart uint64 `json:"owner_start,omitempty"`
	// Machine is the machine the owner runs on: on a channel shared by
	// several machines, an owner on another is known alive by its lease.
	Machine     string `json:"machine,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	RunDir      string `json:"run_dir,omitempty"`
	Workdir     string `json:"workdir,omitempty"`
	// AgentHome is the host folder kept as the agent's home, where its
	// CLI's sessions live between launches.
	AgentHome string `json:"agent_home,omitempty"`
	// Reason says which resource limit the bottle met (ReasonOOM,
	// ReasonPidsLimit) and Limits how often; set when it ends.
	Reason string     `json:"reason,omitempty"`
	Limits *LimitHits `json:"limits,omitempty"`
	// Warnings are what the backend could not enforce as planned (a pids
	// limit by RLIMIT_NPROC instead of a cgroup, for one).
	Warnings []string `json:"warnings,omitempty"`
	// WorkdirNotices, on the final state, say what the bottle left in its
	// workdir that the operator must look at before running git there (a
	// planted repository renamed aside, for one). The paths in them are
	// the agent's, escaped.
	WorkdirNotices []string `json:"workdir_notices,omitempty"`
	// Spooled is set on the last lifecycle event of a bottle whose owner
	// could not store its final events before it exited: how many of the
	// bottle's events (this one included) it spooled, for the next
	// bot-bottle to deliver. They were stored late, not lost.
	Spooled int `json:"spooled,omitempty"`
}

// StopRequest asks the owner of a bottle to stop it.
type StopRequest struct {
	By     int    `json:"by_pid,omitempty"` // the requesting process
	Reason string `json:"reason,omitempty"`
}
