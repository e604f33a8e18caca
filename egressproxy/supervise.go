package egressproxy

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Supervisor decides on requests held by a route's DLP policy supervise:
// in bot-bottle, the review owner of the process that owns the bottle,
// which publishes each as a release proposal on the event channel and
// waits for the operator's decision from any desk (MCP, CLI, web page).
type Supervisor interface {
	// Hold waits, at most until rel.Until or ctx ends, for a decision on
	// the held request rel, and reports it. It never blocks past
	// rel.Until: a hold with no decision then is timed out.
	Hold(ctx context.Context, rel schemas.Release) HoldOutcome
}

// HoldOutcome is a Supervisor's answer on one held request.
type HoldOutcome struct {
	Released bool   // the operator released it: forward it as it is
	TimedOut bool   // no decision came in time
	Notes    string // the operator's reason, for the log (never the agent's text)
}

// SetSupervisor attaches the supervisor of held requests (nil detaches
// it). Until one is attached, a request a supervise route would hold is
// refused (dlp_unsupervised): there is nobody to ask.
func (p *Proxy) SetSupervisor(s Supervisor) {
	if s == nil {
		p.supervisor.Store(nil)
		return
	}
	p.supervisor.Store(&s)
}

// supervise holds a request with findings until the operator decides, and
// returns the reason to refuse it, or ReasonAllowed to release it.
func (p *Proxy) supervise(req *http.Request, d Decision, bd *body, fs []finding) Reason {
	sp := p.supervisor.Load()
	if sp == nil {
		p.log.Warn("dlp: a request to a supervise route carries a secret, but no supervisor is attached; refused",
			"host", d.Host, "rules", strings.Join(rulesOf(fs), ","))
		return ReasonDLPUnsupervised
	}
	wheres := []string{}
	for _, f := range fs {
		if !slices.Contains(wheres, f.where) {
			wheres = append(wheres, f.where)
		}
	}
	rawPath, rawQuery, _ := splitTarget(req.RequestURI)
	port := d.Port
	if port == 443 || port == 80 {
		port = 0 // the default, as routes write it
	}
	rel := schemas.Release{
		Host: d.Host, Port: port, Rules: rulesOf(fs), Where: wheres, Method: req.Method,
		Path: p.displayPath(rawPath, rawQuery), Excerpt: p.excerpt(req, bd, fs),
		Until: time.Now().Add(p.lim.DLPHoldTimeout).UTC(),
	}
	ctx, cancel := context.WithDeadline(req.Context(), rel.Until)
	defer cancel()
	p.metrics.held.Inc()
	out := (*sp).Hold(ctx, rel)
	p.log.Info("dlp: held request decided", "host", d.Host, "method", d.Method, "path", rel.Path,
		"rules", strings.Join(rel.Rules, ","), "released", out.Released, "timed_out", out.TimedOut)
	switch {
	case out.Released:
		return ReasonAllowed
	case out.TimedOut:
		return ReasonDLPHoldTimeout
	default:
		return ReasonDLPRefused
	}
}
