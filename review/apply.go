package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Begin fixes where the owner starts following: from now on (the head of
// the bottle's events). Call it before the agent can make its first request,
// so that no decision can be published before the owner would see it; Run
// calls it itself when it has not been called.
func (o *Owner) Begin(ctx context.Context) error {
	o.mu.Lock()
	started := o.started
	o.mu.Unlock()
	if started {
		return nil
	}
	head, err := o.cfg.Channel.Store().Head(ctx, o.cfg.Bottle)
	if err != nil {
		return fmt.Errorf("review owner of %s: %w", o.cfg.Bottle, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.started {
		o.cursor, o.started = head, true // from here on nothing published is missed
	}
	return nil
}

// Run follows the bottle's events on the channel and applies every decision
// for this owner's proposals, until ctx ends. It resumes where Begin or an
// earlier Run left off, so a decision published while the owner was not
// following is applied when it follows again, not lost.
func (o *Owner) Run(ctx context.Context) error {
	if err := o.Begin(ctx); err != nil {
		return err
	}
	o.mu.Lock()
	from := o.cursor
	o.mu.Unlock()
	return o.cfg.Channel.Follow(ctx, from, func(p events.Page) error {
		for _, ev := range p.Events {
			if ev.Kind == schemas.KindDecision {
				var d schemas.Decision
				if err := ev.Decode(&d); err != nil {
					o.cfg.Logger.Warn("review: undecodable decision", "event", ev.ID, "err", err)
				} else {
					o.apply(d)
				}
			}
			o.mu.Lock()
			o.cursor = o.cursor.Advance(ev)
			o.mu.Unlock()
		}
		if p.Next.After > 0 {
			o.mu.Lock()
			o.cursor = p.Next
			o.mu.Unlock()
		}
		return nil
	})
}

// apply carries out one decision and publishes its outcome. Every way it can
// fail becomes an Applied with status refused and notes saying why, so the
// operator and the agent both learn it.
func (o *Owner) apply(d schemas.Decision) {
	o.applying.Lock()
	defer o.applying.Unlock()
	out := schemas.Applied{ProposalID: d.ProposalID, Bottle: o.cfg.Bottle, Action: d.Action, Scope: d.Scope,
		Reason: d.Reason, DecidedBy: d.DecidedBy}
	o.mu.Lock()
	t, ok := o.props[d.ProposalID]
	decided := ok && t.result != nil
	var prop schemas.Proposal
	if ok {
		prop = t.prop
	}
	o.mu.Unlock()
	switch {
	case !ok:
		out.Status, out.Notes = schemas.ProposalRefused, "this bottle has no proposal "+d.ProposalID
		o.publish(schemas.KindApplied, out)
		return
	case decided && t.result.Status == schemas.ProposalExpired:
		out.Status, out.Notes, out.Duplicate = schemas.ProposalRefused, "proposal "+d.ProposalID+" "+t.result.Notes, true
		o.publish(schemas.KindApplied, out) // the expiry stands
		return
	case decided:
		out.Status, out.Notes, out.Duplicate = schemas.ProposalRefused, "proposal "+d.ProposalID+" was already decided", true
		o.publish(schemas.KindApplied, out) // the first decision's result stands
		return
	}
	if prop.Kind == schemas.ProposalRelease || prop.Kind == schemas.ProposalPush {
		switch err := CheckDecision(d); {
		case err != nil:
			out.Status, out.Notes = schemas.ProposalRefused, fmt.Sprintf("invalid decision: %v", err)
		case d.For != "":
			out.Status, out.Notes = schemas.ProposalRefused, "invalid decision: for: a held request or a refused push adds no route to limit in time"
		case prop.Kind == schemas.ProposalPush:
			decidePush(&out, d)
		default:
			decideRelease(&out, d)
		}
		o.publish(schemas.KindApplied, out)
		if out.Status != schemas.ProposalRefused { // a malformed decision leaves the hold waiting
			o.settle(d.ProposalID, Result{Status: out.Status, ProposalID: d.ProposalID, Notes: out.Notes, Delta: prop.Delta})
		}
		return
	}
	o.decide(&out, d, prop)
	if out.Status == schemas.ProposalApproved {
		o.limit.refund()
	}
	o.publish(schemas.KindApplied, out)
	o.settle(d.ProposalID, Result{Status: out.Status, ProposalID: d.ProposalID, Notes: out.Notes, Route: out.Route, Delta: prop.Delta})
}

// decide fills out with the outcome of d on prop, reloading the proxy and
// editing the manifest as the decision asks.
func (o *Owner) decide(out *schemas.Applied, d schemas.Decision, prop schemas.Proposal) {
	refuse := func(format string, args ...any) {
		out.Status, out.Notes = schemas.ProposalRefused, fmt.Sprintf(format, args...)
	}
	if err := CheckDecision(d); err != nil {
		refuse("invalid decision: %v", err)
		return
	}
	limit, _ := ParseFor("for", d.For) // CheckDecision validated it
	if d.Action == schemas.ActionDeny {
		out.Status = schemas.ProposalDenied
		out.Notes = "denied by the operator"
		if d.Reason != "" {
			out.Notes += ": " + d.Reason
		}
		return
	}
	live := o.cfg.Proxy.Routes()
	out.Before = live
	if live.Digest() != prop.BaseDigest {
		refuse("stale: the bottle's routes changed since this proposal was made; ask again and a new proposal will show the current delta")
		return
	}
	next, rule, persistRoute, err := o.nextTable(live, d, prop)
	if err != nil {
		refuse("%v", err)
		return
	}
	var edit *planner.Edit
	if d.Scope == schemas.ScopePersist {
		if o.cfg.Planner == nil || o.cfg.Manifest == "" {
			refuse("scope persist is not available for this bottle: it was not launched from a manifest in the home")
			return
		}
		if edit, err = o.cfg.Planner.PersistRoute(o.cfg.Manifest, persistRoute, persistNote(prop.ID, d.Action)); err != nil {
			refuse("persist: %v", err)
			return
		}
		if err := edit.Write(); err != nil {
			refuse("persist: %v", err)
			return
		}
		out.Diff = edit.Diff
	}
	if next != nil {
		if err := o.cfg.Proxy.Reload(next, "decision"); err != nil {
			if edit != nil { // keep the manifest and the live table in step
				edit.After, edit.Before = edit.Before, edit.After
				_ = edit.Write()
				out.Diff = ""
			}
			refuse("reload: %v", err)
			return
		}
		out.After = next
		if o.cfg.OnReload != nil {
			o.cfg.OnReload(next)
		}
		if installed := ruleFor(o.cfg.Proxy.Routes(), rule.Host, rule.Port); installed != nil {
			if out.ExpiresAt = o.track(prop.ID, live, *installed, limit, FormatFor(limit)); !out.ExpiresAt.IsZero() {
				out.For = FormatFor(limit)
			}
		}
	} else {
		out.After = live
	}
	out.Status, out.Route = schemas.ProposalApproved, rule
	switch {
	case next == nil:
		out.Notes = "approved and written to the manifest; the credential takes effect at the bottle's next launch"
	case d.Scope == schemas.ScopePersist:
		out.Notes = "approved for this bottle and written to its manifest; retry the request"
	case !out.ExpiresAt.IsZero():
		out.Notes = "approved " + ForNote(out.For, out.ExpiresAt) + ", then the route is removed; retry the request"
	default:
		out.Notes = "approved for this bottle's life; retry the request"
	}
	if d.Reason != "" {
		out.Notes += " (" + d.Reason + ")"
	}
}

// nextTable computes the live table after d: for approve, the proposal's own
// request; for modify, the operator's route. It returns nil for next when
// the change must wait for the next launch (a modify that adds auth), the
// rule as it will be live, and the manifest form for scope persist.
func (o *Owner) nextTable(live *schemas.RoutesFile, d schemas.Decision, prop schemas.Proposal) (next *schemas.RoutesFile, rule *schemas.RouteRule, manifest schemas.Route, err error) {
	var r schemas.Route
	if d.Action == schemas.ActionApprove {
		req := planner.RouteRequest{Host: prop.Host, Port: prop.Port, PathPrefixes: prop.PathPrefixes, Methods: prop.Methods}
		delta, _, err := planner.ApplyRequest(live, req)
		if err != nil {
			return nil, nil, schemas.Route{}, err
		}
		dr := delta.Route
		r = schemas.Route{Host: dr.Host, Port: dr.Port, PathAllowlist: dr.PathAllowlist, Methods: dr.Methods, TLSPassthrough: dr.TLSPassthrough,
			WebSocket: dr.WebSocket}
	} else {
		r = *d.Route
		r.Host = schemas.NormalizeHost(strings.TrimSpace(r.Host))
	}
	next, lr := replaceRoute(live, r)
	manifest = r
	if d.Scope == schemas.ScopePersist && r.Auth == nil && lr.Auth != nil {
		// The route keeps its credential: the manifest must name it too,
		// or the persisted route would replace an authenticated one.
		if manifest.Auth, err = o.credentialOf(lr); err != nil {
			return nil, nil, schemas.Route{}, err
		}
		manifest.WebSocket = lr.WebSocket // it goes with the credential
	}
	if manifest.Auth == nil {
		manifest.WebSocket = false // meaningless without one, and refused in a manifest
	}
	if r.Auth != nil {
		return nil, &lr, manifest, nil // a new credential goes through the manifest only
	}
	return next, &lr, manifest, nil
}

// replaceRoute puts r (without auth) in the table in place of the route for
// its host and port, keeping that route's existing auth: a decision never
// changes a live credential. websocket stays with the credential, or is
// added by an operator's route, and is dropped with it.
func replaceRoute(live *schemas.RoutesFile, r schemas.Route) (*schemas.RoutesFile, schemas.RouteRule) {
	next := &schemas.RoutesFile{Version: live.Version}
	rule := schemas.RouteRule{Host: r.Host, Port: r.Port, PathAllowlist: r.PathAllowlist, Methods: r.Methods, TLSPassthrough: r.TLSPassthrough}
	placed := false
	for _, old := range live.Routes {
		if old.Host == rule.Host && old.Port == rule.Port {
			if !rule.TLSPassthrough {
				rule.Auth, rule.DLP = old.Auth, old.DLP // a decision changes neither credentials nor DLP
			}
			rule.WebSocket = rule.Auth != nil && (r.WebSocket || old.WebSocket)
			next.Routes = append(next.Routes, rule)
			placed = true
			continue
		}
		next.Routes = append(next.Routes, old)
	}
	if !placed {
		next.Routes = append(next.Routes, rule)
	}
	return next, rule
}

// credentialOf finds, in the bottle's plan, the host variable behind a live
// route's slot.
func (o *Owner) credentialOf(rule schemas.RouteRule) (*schemas.Auth, error) {
	plan, err := o.cfg.Planner.Plan(o.cfg.Manifest)
	if err != nil {
		return nil, fmt.Errorf("persist: plan %s: %w", o.cfg.Manifest, err)
	}
	for _, pr := range plan.Routes {
		if pr.Host == rule.Host && pr.Port == rule.Port && pr.Auth != nil {
			if strings.HasPrefix(pr.Origin, "provider:") {
				return nil, fmt.Errorf("persist: %s belongs to the agent provider; widen it for this bottle's life (scope once) instead", rule.Host)
			}
			return &schemas.Auth{Scheme: pr.Auth.Scheme, TokenRef: pr.Auth.TokenRef}, nil
		}
	}
	return nil, fmt.Errorf("persist: the manifest no longer has the credential for %s; edit it by hand", rule.Host)
}

// persistNote is the comment above a persisted route. It names the
// proposal and the action, not who decided (the audit log says that), so
// the preview a proposal carries is the edit an approval makes.
func persistNote(id, action string) string {
	return fmt.Sprintf("added by bot-bottle review: proposal %s (%s)", id, action)
}

// persistPreview works out what approving prop with scope persist would
// write into the bottle's manifest, without writing it.
func (o *Owner) persistPreview(live *schemas.RoutesFile, prop schemas.Proposal) *schemas.PersistPreview {
	if o.cfg.Planner == nil || o.cfg.Manifest == "" {
		return &schemas.PersistPreview{Unavailable: "this bottle was not launched from a manifest in the home"}
	}
	d := schemas.Decision{Action: schemas.ActionApprove, Scope: schemas.ScopePersist}
	_, _, route, err := o.nextTable(live, d, prop)
	if err != nil {
		return &schemas.PersistPreview{Unavailable: err.Error()}
	}
	edit, err := o.cfg.Planner.PersistRoute(o.cfg.Manifest, route, persistNote(prop.ID, d.Action))
	if err != nil {
		return &schemas.PersistPreview{Unavailable: err.Error()}
	}
	return &schemas.PersistPreview{Manifest: edit.Path, Diff: edit.Diff}
}
