package review

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// LiveProxy is the part of a bottle's running egress proxy the owner
// changes. *egressproxy.Proxy implements it.
type LiveProxy interface {
	Routes() *schemas.RoutesFile
	Reload(rf *schemas.RoutesFile, source string) error
}

// Channel is what the owner and the desk need of the shared channel: publish
// (never blocking) and follow the store. *events.Bus implements it.
type Channel interface {
	events.Publisher
	Follow(ctx context.Context, from events.Cursor, fn func(events.Page) error) error
	Store() events.Store
}

// OwnerConfig sets up the owner of one bottle.
type OwnerConfig struct {
	Bottle   string // the bottle id
	Manifest string // the bottle's manifest name in the home, for scope persist
	Proxy    LiveProxy
	Channel  Channel
	Planner  *planner.Planner // for scope persist; nil refuses persist
	Limits   Limits
	// AgentWait is how long the agent's request_egress waits for a
	// decision; proposals carry when that ends, for the operator.
	AgentWait time.Duration
	// OnReload, when set, is called with the live table after every reload
	// the owner makes (the launcher keeps the run folder's routes file in
	// step with it, for other processes to read).
	OnReload func(*schemas.RoutesFile)
	Logger   *slog.Logger
	Now      func() time.Time
}

// Result is what an agent's request_egress or proposal_status returns.
type Result struct {
	Status     string             `json:"status"` // pending | approved | denied | refused | expired | already_allowed
	ProposalID string             `json:"proposal_id,omitempty"`
	Notes      string             `json:"notes,omitempty"`
	Delta      string             `json:"delta,omitempty"`
	Route      *schemas.RouteRule `json:"route,omitempty"`
}

// denialIDRe is the shape of a denial id (a UUID, or anything as plain):
// proposals carry them to operators' terminals and pages. Compiled on
// first use, as the schemas package's names are.
var denialIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`) })

// StatusAlreadyAllowed answers a request the live table already admits.
const StatusAlreadyAllowed = "already_allowed"

// ErrUnknownProposal is returned (wrapped) for a proposal id this bottle
// never made: the agent surface must not reveal other bottles' proposals.
var ErrUnknownProposal = errors.New("unknown proposal")

// Owner is the review side of the process that owns a bottle.
type Owner struct {
	cfg   OwnerConfig
	limit *limiter

	mu       sync.Mutex
	props    map[string]*tracked // every proposal this owner made, by id
	byKey    map[string]string   // identical-request key -> pending proposal id
	cursor   events.Cursor       // where Run resumes following
	started  bool                // Run has taken its first cursor
	ended    *Ending             // set by End: the bottle ended, its proposals expired
	grants   map[string]*grant   // time-limited routes by host:port (temporary.go)
	after    func(time.Duration, func()) func() bool
	applying sync.Mutex // one decision at a time: reload + persist are a unit
}

// tracked is a proposal and, once decided, its result.
type tracked struct {
	prop   schemas.Proposal
	key    string
	result *Result
	done   chan struct{} // closed when result is set
}

// NewOwner returns the owner for cfg.Bottle. Call Run to apply decisions.
func NewOwner(cfg OwnerConfig) *Owner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Owner{cfg: cfg, limit: newLimiter(cfg.Limits, cfg.Now), props: map[string]*tracked{}, byKey: map[string]string{},
		cursor: events.AfterSeq(cfg.Bottle, 0), grants: map[string]*grant{}, after: afterFunc}
}

// Request turns an agent's request into a proposal (or merges it into an
// identical pending one) and waits up to wait for the decision. It returns
// a Result with status pending if none came in time. The error is for the
// agent: what is wrong with its request, or that it is rate limited.
func (o *Owner) Request(ctx context.Context, req planner.RouteRequest, justification string, denialIDs []string, wait time.Duration) (Result, error) {
	justification = strings.TrimSpace(justification)
	if justification == "" {
		return Result{}, errors.New("justification is required: say what you need this access for")
	}
	if len(justification) > schemas.AgentTextMax {
		return Result{}, fmt.Errorf("justification is longer than %d characters", schemas.AgentTextMax)
	}
	// Stored as it will be shown: no control, format or bidi character
	// reaches the channel, the audit log or any reader of the store.
	justification = schemas.AgentText(justification).Lines(schemas.AgentTextMax)
	for _, id := range denialIDs {
		if !denialIDRe().MatchString(id) {
			return Result{}, errors.New("denial_id must be the denial_id of a 403 (letters, digits and -)")
		}
	}
	req.Host = schemas.NormalizeHost(strings.TrimSpace(req.Host))
	live := o.cfg.Proxy.Routes()
	delta, _, err := planner.ApplyRequest(live, req)
	if err != nil {
		return Result{}, fmt.Errorf("request refused: %w", err)
	}
	if delta.Empty() {
		return Result{Status: StatusAlreadyAllowed, Delta: delta.String(), Route: &delta.Route,
			Notes: "the live routes already admit this request; if you were denied, read the denial's reason (an unnormalised path, a token in the request, a git push) rather than asking again"}, nil
	}
	key := requestKey(req)
	o.mu.Lock()
	if why := o.endedLocked(); why != "" {
		o.mu.Unlock()
		return Result{}, errors.New("request refused: " + why)
	}
	now := o.cfg.Now().UTC()
	t, merged := o.props[o.byKey[key]]
	if merged {
		t.prop.Count++
		t.prop.DenialIDs = appendNew(t.prop.DenialIDs, denialIDs...)
		t.prop.WaitUntil = o.waitUntil(now)
	} else {
		if err := o.limit.allow(o.pendingLocked()); err != nil {
			o.mu.Unlock()
			return Result{}, err
		}
		t = &tracked{key: key, done: make(chan struct{}), prop: schemas.Proposal{
			ID: newProposalID(), Bottle: o.cfg.Bottle, Host: req.Host, Port: req.Port,
			PathPrefixes: req.PathPrefixes, Methods: req.Methods, Justification: justification,
			DenialIDs: appendNew(nil, denialIDs...), Delta: delta.String(), Route: delta.Route,
			BaseDigest: live.Digest(), Count: 1, Time: now, WaitUntil: o.waitUntil(now),
		}}
		t.prop.Persist = o.persistPreview(live, t.prop)
		o.props[t.prop.ID] = t
		o.byKey[key] = t.prop.ID
	}
	prop := t.prop
	o.mu.Unlock()
	o.publish(schemas.KindProposal, prop)
	return o.wait(ctx, t, wait)
}

// waitUntil is when an agent's call made at now stops waiting.
func (o *Owner) waitUntil(now time.Time) time.Time {
	if o.cfg.AgentWait <= 0 {
		return time.Time{}
	}
	return now.Add(o.cfg.AgentWait)
}

// Status returns a proposal's state, waiting up to wait for a decision while
// it is pending. Only this bottle's proposals are known.
func (o *Owner) Status(ctx context.Context, id string, wait time.Duration) (Result, error) {
	o.mu.Lock()
	t, ok := o.props[id]
	o.mu.Unlock()
	if !ok {
		return Result{}, fmt.Errorf("proposal %q: %w for this bottle", id, ErrUnknownProposal)
	}
	return o.wait(ctx, t, wait)
}

// Pending returns this bottle's undecided proposals.
func (o *Owner) Pending() []schemas.Proposal {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []schemas.Proposal
	for _, t := range o.props {
		if t.result == nil {
			out = append(out, t.prop)
		}
	}
	slices.SortFunc(out, func(a, b schemas.Proposal) int { return a.Time.Compare(b.Time) })
	return out
}

func (o *Owner) wait(ctx context.Context, t *tracked, wait time.Duration) (Result, error) {
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.result != nil {
		return *t.result, nil
	}
	return Result{Status: schemas.ProposalPending, ProposalID: t.prop.ID, Delta: t.prop.Delta,
		Notes: "waiting for a person to decide; call proposal_status with this id to wait again"}, nil
}

// pendingLocked counts undecided proposals; o.mu is held.
func (o *Owner) pendingLocked() int {
	n := 0
	for _, t := range o.props {
		if t.result == nil {
			n++
		}
	}
	return n
}

// settle records a proposal's result and wakes its waiters.
func (o *Owner) settle(id string, r Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.props[id]
	if !ok || t.result != nil {
		return
	}
	t.result = &r
	if o.byKey[t.key] == id {
		delete(o.byKey, t.key)
	}
	close(t.done)
}

func (o *Owner) publish(kind schemas.Kind, payload any) {
	ev, err := schemas.NewEvent(o.cfg.Bottle, kind, payload)
	if err != nil {
		o.cfg.Logger.Error("review: encode event", "kind", kind, "err", err)
		return
	}
	o.cfg.Channel.Publish(ev)
}

// requestKey identifies identical requests: same host, port, paths and
// methods, in any order.
func requestKey(r planner.RouteRequest) string {
	paths, methods := slices.Clone(r.PathPrefixes), slices.Clone(r.Methods)
	slices.Sort(paths)
	slices.Sort(methods)
	return fmt.Sprintf("%s:%d|%s|%s", r.Host, r.Port, strings.Join(slices.Compact(paths), ","), strings.Join(slices.Compact(methods), ","))
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if it != "" && !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

func newProposalID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "p-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
