package review

import (
	"fmt"
	"slices"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// A time-limited approval (Decision.For, scope once) is a grant: the owner
// remembers the route it installed and the route it replaced (or that
// there was none), and when its time is up it puts the replaced one back
// with an atomic reload, publishes a RouteExpired, and requests the route
// admitted before are denied again with the usual structured denial.
//
// One grant is held per host and port. A later decision on the same host
// and port takes the route over: if it has a limit too, its grant inherits
// what the earlier one would have restored (so the host ends as it was
// before any limited approval); if it has none, the route stays for the
// bottle's life as that decision made it. Either way the earlier grant's
// expiry finds its route superseded, changes nothing and says so. The
// grants end with the bottle (Owner.End): the route dies with its proxy.

// grant is one time-limited route on the live table.
type grant struct {
	proposal  string
	key       string
	installed schemas.RouteRule  // the route the approval made live
	restore   *schemas.RouteRule // what it replaced; nil: the host had no route
	forText   string
	expiresAt time.Time
	stop      func() bool // stops its timer
}

// afterFunc runs f after d on its own goroutine and returns what stops it:
// time.AfterFunc, which a test replaces to fire a grant's expiry when it
// chooses instead of after wall-clock time.
func afterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// routeKey names the route for a host and port in the live table.
func routeKey(host string, port int) string { return fmt.Sprintf("%s:%d", host, port) }

// ruleFor returns the live route for host and port, if any.
func ruleFor(rf *schemas.RoutesFile, host string, port int) *schemas.RouteRule {
	for _, r := range rf.Routes {
		if r.Host == host && r.Port == port {
			r := r
			return &r
		}
	}
	return nil
}

// track records how a successful reload changed the route for rule's host
// and port: a limited approval starts a grant, any other change ends the
// grant it supersedes. before is the live table the decision replaced; it
// runs under o.applying.
func (o *Owner) track(proposal string, before *schemas.RoutesFile, rule schemas.RouteRule, limit time.Duration, forText string) time.Time {
	key := routeKey(rule.Host, rule.Port)
	o.mu.Lock()
	defer o.mu.Unlock()
	prev := o.grants[key]
	delete(o.grants, key) // superseded: its expiry finds another grant (or none), changes nothing and says so
	if limit <= 0 {
		return time.Time{}
	}
	g := &grant{proposal: proposal, key: key, installed: rule, restore: ruleFor(before, rule.Host, rule.Port),
		forText: forText, expiresAt: o.cfg.Now().UTC().Add(limit)}
	if prev != nil {
		g.restore = prev.restore // the host ends as it was before any limited approval
	}
	o.grants[key] = g
	g.stop = o.after(limit, func() { o.expireGrant(g) })
	return g.expiresAt
}

// expireGrant removes g's route when its time is up, unless a later
// decision took it over, and publishes a RouteExpired either way.
func (o *Owner) expireGrant(g *grant) {
	o.applying.Lock() // never between a decision's reload and its Applied
	defer o.applying.Unlock()
	o.mu.Lock()
	current := o.grants[g.key] == g
	if current {
		delete(o.grants, g.key)
	}
	ended := o.ended != nil
	o.mu.Unlock()
	if ended {
		return // the route ended with its bottle
	}
	x := schemas.RouteExpired{ProposalID: g.proposal, Bottle: o.cfg.Bottle, Route: g.installed, For: g.forText,
		ExpiresAt: g.expiresAt, RemovedAt: o.cfg.Now().UTC()}
	live := o.cfg.Proxy.Routes()
	x.Before = live
	lr := ruleFor(live, g.installed.Host, g.installed.Port)
	if !current || lr == nil || !sameRule(*lr, g.installed) {
		x.Superseded, x.After = true, live
		x.Notes = fmt.Sprintf("the time limit (%s) of proposal %s ran out, but a later decision had changed the route for %s since; that decision stands",
			g.forText, g.proposal, RouteLine(g.installed))
		o.publish(schemas.KindRouteExpired, x)
		return
	}
	next := withRule(live, g.installed.Host, g.installed.Port, g.restore)
	if err := o.cfg.Proxy.Reload(next, "expiry"); err != nil {
		// Fail closed is not possible here (the old table stays live), so
		// say so loudly: the operator must stop the bottle or retry.
		x.After = live
		x.Notes = fmt.Sprintf("the time limit (%s) of proposal %s ran out, but removing the route failed: %v; the route is still live", g.forText, g.proposal, err)
		o.cfg.Logger.Error("review: remove an expired route", "proposal", g.proposal, "err", err)
		o.publish(schemas.KindRouteExpired, x)
		return
	}
	x.After = next
	if o.cfg.OnReload != nil {
		o.cfg.OnReload(next)
	}
	if g.restore == nil {
		x.Notes = fmt.Sprintf("the time limit (%s) of proposal %s ran out: the route for %s is removed", g.forText, g.proposal, g.installed.HostPort())
	} else {
		x.Notes = fmt.Sprintf("the time limit (%s) of proposal %s ran out: the route for %s is back to %s", g.forText, g.proposal,
			g.installed.HostPort(), RouteLine(*g.restore))
	}
	o.publish(schemas.KindRouteExpired, x)
}

// stopGrants ends every grant without touching the table: the bottle ended.
func (o *Owner) stopGrants() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, g := range o.grants {
		g.stop()
		delete(o.grants, k)
	}
}

// withRule is live with the route for host and port replaced by r, or
// removed when r is nil.
func withRule(live *schemas.RoutesFile, host string, port int, r *schemas.RouteRule) *schemas.RoutesFile {
	next := &schemas.RoutesFile{Version: live.Version}
	for _, old := range live.Routes {
		if old.Host == host && old.Port == port {
			if r != nil {
				next.Routes = append(next.Routes, *r)
			}
			continue
		}
		next.Routes = append(next.Routes, old)
	}
	return next
}

// sameRule compares the parts of a route a decision sets.
func sameRule(a, b schemas.RouteRule) bool {
	return a.Host == b.Host && a.Port == b.Port && slices.Equal(a.PathAllowlist, b.PathAllowlist) &&
		slices.Equal(a.Methods, b.Methods) && a.TLSPassthrough == b.TLSPassthrough && a.WebSocket == b.WebSocket
}
