package mcp

import (
	"context"
	"fmt"
	"sync"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// loggerName names bot-bottle's log notifications.
const loggerName = "bot-bottle"

// subscriptions tracks what mcp-go leaves to the server: which sessions
// subscribed to which resource, which sessions exist, and which chose a log
// level. It is filled by server hooks.
type subscriptions struct {
	mu       sync.Mutex
	byURI    map[string]map[string]bool // uri -> session ids
	sessions map[string]bool            // registered sessions
	leveled  map[string]bool            // sessions that sent logging/setLevel
}

func newSubscriptions() *subscriptions {
	return &subscriptions{byURI: map[string]map[string]bool{}, sessions: map[string]bool{}, leveled: map[string]bool{}}
}

func (s *subscriptions) install(h *server.Hooks) {
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcpgo.SubscribeRequest, _ *mcpgo.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.mu.Lock()
			if s.byURI[req.Params.URI] == nil {
				s.byURI[req.Params.URI] = map[string]bool{}
			}
			s.byURI[req.Params.URI][sess.SessionID()] = true
			s.mu.Unlock()
		}
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcpgo.UnsubscribeRequest, _ *mcpgo.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.mu.Lock()
			delete(s.byURI[req.Params.URI], sess.SessionID())
			s.mu.Unlock()
		}
	})
	h.AddAfterSetLevel(func(ctx context.Context, _ any, _ *mcpgo.SetLevelRequest, _ *mcpgo.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.mu.Lock()
			s.leveled[sess.SessionID()] = true
			s.mu.Unlock()
		}
	})
	h.AddOnRegisterSession(func(_ context.Context, sess server.ClientSession) {
		s.mu.Lock()
		s.sessions[sess.SessionID()] = true
		s.mu.Unlock()
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		id := sess.SessionID()
		s.mu.Lock()
		delete(s.sessions, id)
		delete(s.leveled, id)
		for uri, subs := range s.byURI {
			delete(subs, id)
			if len(subs) == 0 {
				delete(s.byURI, uri)
			}
		}
		s.mu.Unlock()
	})
}

// subscribers returns the sessions subscribed to uri.
func (s *subscriptions) subscribers(uri string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byURI[uri]))
	for id := range s.byURI[uri] {
		out = append(out, id)
	}
	return out
}

// listeners returns every session and whether it chose its log level.
func (s *subscriptions) listeners() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.sessions))
	for id := range s.sessions {
		out[id] = s.leveled[id]
	}
	return out
}

// Watch follows the shared event channel from where NewOperator left it
// and tells the operator's sessions what changed, until ctx ends: a
// resources/updated notification to the sessions subscribed to a changed
// resource, and a log notification per new denial (warning) and per new
// proposal (notice). It follows through the desk's one follower
// (review.Desk.Watch), as the terminal and the page do: events come from
// the store, so a bottle owned by any process of the machine is seen.
func (o *Operator) Watch(ctx context.Context) error {
	err := o.ctl.desk.Watch(ctx, o.cursor, o.notify)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("operator notifications: %w", err)
}

// notify renders one update of the desk for the operator's sessions.
func (o *Operator) notify(u review.Update) {
	ev := u.Event
	switch {
	case u.Denial != nil:
		d := *u.Denial
		o.updated(DenialsURI)
		o.logAll(mcpgo.LoggingLevelWarning, map[string]any{
			"event":   "denial",
			"message": "egress denied: " + denialSummary(d),
			"denial":  d,
		})
	case u.Proposal != nil:
		o.updated(ProposalsURI)
		if u.New { // a merged duplicate is not new
			o.logAll(mcpgo.LoggingLevelNotice, proposalNote(*u.Proposal))
		}
	case u.Decision != nil:
		o.updated(ProposalsURI)
	case u.Expired != nil:
		x := *u.Expired
		o.updated(ProposalsURI)
		o.logAll(mcpgo.LoggingLevelInfo, map[string]any{
			"event":   "expired",
			"message": fmt.Sprintf("proposal %s of bottle %s %s", x.ProposalID, ev.Bottle, line(x.Notes())),
			"expired": x,
		})
	case u.RouteExpired != nil:
		x := *u.RouteExpired
		o.updated(ProposalsURI)
		o.updated(RoutesURI(ev.Bottle))
		o.logAll(mcpgo.LoggingLevelInfo, map[string]any{
			"event": "route_expired",
			// Our words only: the route's paths may be the agent's, and
			// stay in route_expired's fields.
			"message": fmt.Sprintf("bottle %s: the time limit (%s) of proposal %s ran out for %s (see route_expired)",
				ev.Bottle, line(x.For), line(x.ProposalID), x.Route.HostPort()),
			"route_expired": x,
		})
	case u.Applied != nil:
		o.updated(ProposalsURI)
		if u.Applied.Status == schemas.ProposalApproved {
			o.updated(RoutesURI(ev.Bottle))
		}
	case ev.Kind == schemas.KindReload:
		o.updated(RoutesURI(ev.Bottle))
	case ev.Kind == schemas.KindLifecycle:
		var lc schemas.Lifecycle
		if ev.Decode(&lc) == nil && (lc.State == schemas.StateRunning || schemas.TerminalState(lc.State)) {
			o.updated(PlanURI(ev.Bottle))
			o.updated(RoutesURI(ev.Bottle))
			if lc.State == schemas.StateRunning {
				o.addBottle(ev.Bottle, lc.Name)
			} else {
				o.removeBottle(ev.Bottle)
			}
		}
	}
}

// updated sends resources/updated for uri to its subscribers. A session
// that went away is forgotten by the unregister hook; its error here is
// not a problem.
func (o *Operator) updated(uri string) {
	for _, id := range o.subs.subscribers(uri) {
		_ = o.srv.SendNotificationToSpecificClient(id, mcpgo.MethodNotificationResourceUpdated, map[string]any{"uri": uri})
	}
}

// logAll sends a log notification to every session. A session that chose
// a level with logging/setLevel gets it only at or above that level; one
// that did not gets it anyway, which the spec leaves to the server:
// denials and proposals are what an operator session is for.
func (o *Operator) logAll(level mcpgo.LoggingLevel, data map[string]any) {
	for id, leveled := range o.subs.listeners() {
		if leveled {
			_ = o.srv.SendLogMessageToSpecificClient(id, mcpgo.NewLoggingMessageNotification(level, loggerName, data))
			continue
		}
		_ = o.srv.SendNotificationToSpecificClient(id, string(mcpgo.MethodNotificationMessage),
			map[string]any{"level": level, "logger": loggerName, "data": data})
	}
}
