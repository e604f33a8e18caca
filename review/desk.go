package review

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// DeskConfig sets up an operator's desk.
type DeskConfig struct {
	Channel Channel
	// Running reports whether a bottle is running and its owner alive; a
	// decision on any other bottle is refused before it is published.
	Running func(ctx context.Context, bottle string) (bool, error)
	// Bottles, when set, supplies the bottle and its live routes for the
	// evidence shown beside a proposal.
	Bottles Bottles
	Logger  *slog.Logger
	Now     func() time.Time
}

// Desk is where an operator reviews and decides, from any process.
type Desk struct{ cfg DeskConfig }

// NewDesk returns a desk on cfg.Channel.
func NewDesk(cfg DeskConfig) *Desk {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Desk{cfg: cfg}
}

// ErrNotPending is returned (wrapped) when deciding a proposal that already
// has a decision.
var ErrNotPending = errors.New("proposal is not pending")

// ErrBottleGone is returned (wrapped) when deciding for a bottle that no
// longer runs.
var ErrBottleGone = errors.New("bottle is not running")

// Filter selects proposals. Zero fields select everything.
type Filter struct {
	Bottle string
	Status string // pending, approved, denied, refused, expired
}

// Proposals lists proposals, newest first. A pending proposal of a bottle
// that no longer runs is expired on the way (ExpireEnded) and listed so.
func (d *Desk) Proposals(ctx context.Context, f Filter) ([]View, error) {
	views, err := project(ctx, d.cfg.Channel.Store(), f.Bottle)
	if err != nil {
		return nil, err
	}
	if _, err := d.expireEnded(ctx, views); err != nil {
		return nil, err
	}
	return f.apply(views), nil
}

// List is Proposals for a reader of the store that decides nothing (shell
// completion, a listing): it expires nothing, so a pending proposal of a
// bottle that ended without anyone noticing is still listed pending.
func List(ctx context.Context, store events.Store, f Filter) ([]View, error) {
	views, err := project(ctx, store, f.Bottle)
	if err != nil {
		return nil, err
	}
	return f.apply(views), nil
}

// apply keeps the views f selects.
func (f Filter) apply(views []View) []View {
	out := views[:0]
	for _, v := range views {
		if f.Status == "" || v.Status == f.Status {
			out = append(out, v)
		}
	}
	return out
}

// Proposal returns one proposal by id.
func (d *Desk) Proposal(ctx context.Context, id string) (View, error) {
	views, err := project(ctx, d.cfg.Channel.Store(), "")
	if err != nil {
		return View{}, err
	}
	for _, v := range views {
		if v.ID == id {
			return v, nil
		}
	}
	return View{}, fmt.Errorf("proposal %q: %w", id, ErrUnknownProposal)
}

// Decide checks dec against the channel (the proposal exists and is
// pending, its bottle runs) and on its own (CheckDecision), publishes it,
// and waits up to wait for the bottle's owner to apply it. It returns the
// owner's Applied, or an error saying why the decision was not published or
// not answered in time. dec.Bottle is filled from the proposal.
func (d *Desk) Decide(ctx context.Context, dec schemas.Decision, wait time.Duration) (*schemas.Applied, error) {
	v, err := d.Proposal(ctx, dec.ProposalID)
	if err != nil {
		return nil, err
	}
	if dec.Bottle != "" && dec.Bottle != v.Bottle {
		return nil, fmt.Errorf("proposal %q belongs to bottle %s, not %s", v.ID, v.Bottle, dec.Bottle)
	}
	dec.Bottle = v.Bottle
	if dec.Scope == "" && dec.Action != schemas.ActionDeny {
		dec.Scope = schemas.ScopeOnce
	}
	if dec.Time.IsZero() {
		dec.Time = d.cfg.Now().UTC()
	}
	if v.Status == schemas.ProposalPending {
		views := []View{v} // expired here if its bottle no longer runs
		if _, err := d.expireEnded(ctx, views); err != nil {
			return nil, fmt.Errorf("decide %q: %w", v.ID, err)
		}
		v = views[0]
	}
	switch {
	case v.Applied != nil:
		return nil, fmt.Errorf("proposal %q was already decided: %s by %s (%s): %w", v.ID, v.Applied.Status, v.Applied.DecidedBy, v.Applied.Notes, ErrNotPending)
	case v.Expired != nil:
		return nil, expiredError(v.ID, v.Bottle, *v.Expired)
	case v.Decision != nil:
		return nil, fmt.Errorf("proposal %q was already decided (%s by %s) and waits for its bottle to apply it: %w", v.ID, v.Decision.Action, v.Decision.DecidedBy, ErrNotPending)
	}
	if lim, err := ParseFor("for", dec.For); err == nil {
		dec.For = FormatFor(lim) // one spelling in the store: 30m, not 0h30m0s
	}
	if err := CheckDecision(dec); err != nil {
		return nil, fmt.Errorf("decide %q: %w", v.ID, err)
	}
	if v.Kind == schemas.ProposalRelease && dec.Action == schemas.ActionModify {
		return nil, fmt.Errorf("decide %q: a held request can be released (approve) or refused (deny), not modified", v.ID)
	}
	if v.Kind == schemas.ProposalPush && dec.Action == schemas.ActionModify {
		return nil, fmt.Errorf("decide %q: a refused push can be released (approve) or kept refused (deny), not modified", v.ID)
	}
	if !ChangesRoutes(v.Kind) && dec.For != "" {
		return nil, fmt.Errorf("decide %q: for: a %s is released once; it adds no route, so there is nothing to limit in time", v.ID, KindName(v.Kind))
	}
	store := d.cfg.Channel.Store()
	from, err := store.Head(ctx, v.Bottle)
	if err != nil {
		return nil, fmt.Errorf("decide %q: %w", v.ID, err)
	}
	ev, err := schemas.NewEvent(v.Bottle, schemas.KindDecision, dec)
	if err != nil {
		return nil, err
	}
	d.cfg.Channel.Publish(ev)
	return d.awaitApplied(ctx, from, v.ID, wait)
}

// awaitApplied waits for the owner's Applied for proposal id.
func (d *Desk) awaitApplied(ctx context.Context, from events.Cursor, id string, wait time.Duration) (*schemas.Applied, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var got *schemas.Applied
	var expired *schemas.Expired
	errFound := errors.New("found")
	err := d.cfg.Channel.Follow(ctx, from, func(p events.Page) error {
		for _, ev := range p.Events {
			switch ev.Kind {
			case schemas.KindApplied:
				var a schemas.Applied
				if ev.Decode(&a) == nil && a.ProposalID == id {
					got = &a
					return errFound
				}
			case schemas.KindExpired:
				var x schemas.Expired
				if ev.Decode(&x) == nil && x.ProposalID == id {
					expired = &x
					return errFound
				}
			}
		}
		return nil
	})
	switch {
	case got != nil:
		return got, nil
	case expired != nil:
		return nil, expiredError(id, expired.Bottle, *expired)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("the decision on %q is published, but its bottle's owner did not answer within %s; it will apply it when it can", id, wait)
	}
	return nil, err
}

// View is a proposal with what the channel says happened to it.
type View struct {
	schemas.Proposal
	Status   string            `json:"status"`
	Decision *schemas.Decision `json:"decision,omitempty"`
	Applied  *schemas.Applied  `json:"applied,omitempty"`
	// Expired is set when the bottle ended while the proposal was pending
	// (status expired); Notes says when and how.
	Expired *schemas.Expired `json:"expired,omitempty"`
	// RouteExpired is set when a time-limited approval's route was
	// removed (or found superseded) when its time was up.
	RouteExpired *schemas.RouteExpired `json:"route_expired,omitempty"`
}

// expiredError is the answer to deciding an expired proposal.
func expiredError(id, bottle string, x schemas.Expired) error {
	return fmt.Errorf("proposal %q of bottle %s: %s; nothing can apply a decision now, and the agent can ask again from a new bottle: %w",
		id, bottle, x.Notes(), ErrExpired)
}

// project folds the channel's proposal, decision, applied and expired
// events into views, newest first. A later proposal event with the same id
// (a merge) replaces the earlier; the first decision stands, and so does
// the first outcome: a non-duplicate Applied or an Expired, whichever was
// stored first.
func project(ctx context.Context, store events.Store, bottle string) ([]View, error) {
	// Query reads only these kinds (never the denials, which are most of
	// the store), newest first; the fold needs them in stream order.
	var evs []schemas.Event
	f := events.Filter{Kinds: []schemas.Kind{schemas.KindProposal, schemas.KindDecision, schemas.KindApplied, schemas.KindExpired,
		schemas.KindRouteExpired},
		Bottle: bottle, Limit: events.MaxQueryLimit}
	for {
		m, err := store.Query(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("read proposals: %w", err)
		}
		evs = append(evs, m.Events...)
		if m.Next.IsZero() {
			break
		}
		f.Before = m.Next
	}
	slices.SortFunc(evs, func(a, b schemas.Event) int { return cmp.Compare(a.Pos, b.Pos) })
	byID := map[string]*View{}
	var order []string
	for _, ev := range evs {
		switch ev.Kind {
		case schemas.KindProposal:
			var p schemas.Proposal
			if ev.Decode(&p) != nil {
				continue
			}
			if v, ok := byID[p.ID]; ok {
				v.Proposal = p
				continue
			}
			byID[p.ID] = &View{Proposal: p, Status: schemas.ProposalPending}
			order = append(order, p.ID)
		case schemas.KindDecision:
			var dec schemas.Decision
			if ev.Decode(&dec) == nil {
				if v, ok := byID[dec.ProposalID]; ok && v.Decision == nil {
					v.Decision = &dec
				}
			}
		case schemas.KindApplied:
			var a schemas.Applied
			if ev.Decode(&a) == nil && !a.Duplicate {
				if v, ok := byID[a.ProposalID]; ok && v.Applied == nil && v.Expired == nil {
					v.Applied, v.Status = &a, a.Status
				}
			}
		case schemas.KindExpired:
			var x schemas.Expired
			if ev.Decode(&x) == nil {
				if v, ok := byID[x.ProposalID]; ok && v.Applied == nil && v.Expired == nil && ev.Bottle == v.Bottle {
					v.Expired, v.Status = &x, schemas.ProposalExpired
				}
			}
		case schemas.KindRouteExpired:
			var x schemas.RouteExpired
			if ev.Decode(&x) == nil {
				if v, ok := byID[x.ProposalID]; ok && v.RouteExpired == nil && ev.Bottle == v.Bottle {
					v.RouteExpired = &x
				}
			}
		}
	}
	out := make([]View, 0, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		out = append(out, *byID[order[i]])
	}
	return out, nil
}
