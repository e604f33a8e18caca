package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A person decides from evidence, not from the agent's word: Evidence is
// what every operator surface shows beside a pending proposal. The
// denials it answers are read from the bottle's own events (an id the
// agent cites from elsewhere is reported, not looked up across bottles);
// the bottle and its live routes come from the desk's Bottles.

// BottleInfo is what the desk knows of a bottle.
type BottleInfo struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Running bool      `json:"running"`
	Backend string    `json:"backend,omitempty"`
	Workdir string    `json:"workdir,omitempty"`
	Since   time.Time `json:"since"`
	// StartedBy says which process owns it: "bot-bottle launch (pid 42)".
	StartedBy string `json:"started_by,omitempty"`
}

// Bottles tells the desk about bottles, for the evidence it shows. The
// CLI and the MCP server implement it from the registry and the bottles'
// run folders.
type Bottles interface {
	// Bottle returns what the registry says of bottle id.
	Bottle(ctx context.Context, id string) (BottleInfo, error)
	// Routes returns a running bottle's live routes table and where it
	// was read ("live" or "owner").
	Routes(ctx context.Context, id string) (*schemas.RoutesFile, string, error)
}

// Evidence is what a person needs to decide a pending proposal.
type Evidence struct {
	// Denials are the denials the proposal answers, identical requests
	// merged (Count), oldest first.
	Denials []DeniedRequest `json:"denials"`
	// Uncited lists denial ids the agent gave that this bottle never got.
	Uncited []string    `json:"uncited_denial_ids,omitempty"`
	Bottle  *BottleInfo `json:"bottle,omitempty"`
	// Routes are the bottle's live routes for the proposal's host now.
	Routes       []schemas.RouteRule `json:"routes_for_host"`
	RoutesSource string              `json:"routes_source,omitempty"`
	// Once and Persist say exactly what each approval changes.
	Once    Effect `json:"once"`
	Persist Effect `json:"persist"`
	// AgentWaitsUntil is when the agent's waiting call gives up.
	AgentWaitsUntil time.Time `json:"agent_waits_until,omitzero"`
	// Problems lists what could not be read (the registry, the routes).
	Problems []string `json:"problems,omitempty"`
}

// DeniedRequest is one request the proxy refused, as many times as it was
// sent.
type DeniedRequest struct {
	Method string    `json:"method"`
	Host   string    `json:"host"`
	Port   int       `json:"port,omitempty"`
	Path   string    `json:"path"`
	Reason string    `json:"reason"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Count  int       `json:"count"`
	IDs    []string  `json:"denial_ids"`
}

// Effect is what one action does.
type Effect struct {
	// Summary is one line for a person.
	Summary string `json:"summary"`
	// Route is the live route for the host after the action.
	Route *schemas.RouteRule `json:"route,omitempty"`
	// Manifest and Diff are the file persist edits and how.
	Manifest string `json:"manifest,omitempty"`
	Diff     string `json:"diff,omitempty"`
	// Unavailable says why the action cannot be taken.
	Unavailable string `json:"unavailable,omitempty"`
}

// Evidence gathers what a person needs to decide v.
func (d *Desk) Evidence(ctx context.Context, v View) Evidence {
	ev := Evidence{Routes: []schemas.RouteRule{}, Denials: []DeniedRequest{}, AgentWaitsUntil: v.WaitUntil}
	if v.Release != nil {
		ev.AgentWaitsUntil = v.Release.Until
	}
	if len(v.DenialIDs) > 0 {
		found, err := d.denials(ctx, v.Bottle, v.DenialIDs)
		if err != nil {
			ev.Problems = append(ev.Problems, err.Error())
		}
		ev.Denials = groupDenials(found)
		for _, id := range v.DenialIDs {
			if !slices.ContainsFunc(found, func(x schemas.Denial) bool { return x.ID == id }) {
				ev.Uncited = append(ev.Uncited, id)
			}
		}
	}
	if b := d.cfg.Bottles; b != nil {
		if info, err := b.Bottle(ctx, v.Bottle); err != nil {
			ev.Problems = append(ev.Problems, fmt.Sprintf("bottle %s: %v", v.Bottle, err))
		} else {
			ev.Bottle = &info
		}
		if rf, src, err := b.Routes(ctx, v.Bottle); err != nil {
			ev.Problems = append(ev.Problems, fmt.Sprintf("routes of %s: %v", v.Bottle, err))
		} else {
			ev.RoutesSource = src
			for _, r := range rf.Routes {
				if r.Host == v.Host {
					ev.Routes = append(ev.Routes, r)
				}
			}
		}
	}
	ev.Once, ev.Persist = effects(v)
	return ev
}

// ChangesRoutes reports whether approving a proposal of kind changes its
// bottle's routes. An egress proposal does; a held request (release) or a
// refused push (push) is let through once and leaves the routes alone, so
// denials answered, live routes and persist do not apply to it.
func ChangesRoutes(kind string) bool {
	return kind != schemas.ProposalRelease && kind != schemas.ProposalPush
}

// KindName names a proposal kind that adds no route, for a person: a
// "refused push" or a "held request".
func KindName(kind string) string {
	if kind == schemas.ProposalPush {
		return "refused push"
	}
	return "held request"
}

// effects says what approve (once) and approve + persist do to v.
func effects(v View) (once, persist Effect) {
	switch v.Kind {
	case schemas.ProposalRelease:
		once = Effect{Summary: "the held request goes to its upstream as it was sent; the routes do not change"}
		persist = Effect{Unavailable: "a held request is released once; nothing is written to the manifest"}
		return once, persist
	case schemas.ProposalPush:
		once = Effect{Summary: "the secrets found in these commits are released: the agent's next push of them goes to the upstream; the routes do not change"}
		persist = Effect{Unavailable: "a refused push is released once; nothing is written to the manifest"}
		return once, persist
	}
	route := v.Route
	once = Effect{Route: &route, Summary: "for this bottle's life (or for a time limit, when one is given), the live route becomes: " + RouteLine(route) +
		" (the manifest is not changed; a new launch does not have it)"}
	switch p := v.Persist; {
	case p == nil:
		persist = Effect{Unavailable: "the proposal carries no preview of the manifest edit (made by an older bot-bottle)"}
	case p.Unavailable != "":
		persist = Effect{Unavailable: p.Unavailable}
	default:
		persist = Effect{Route: &route, Manifest: p.Manifest, Diff: p.Diff,
			Summary: "the live route becomes " + RouteLine(route) + ", and " + p.Manifest + " is edited as the diff shows"}
	}
	return once, persist
}

// denials reads the denials of bottle with the given ids from its events.
func (d *Desk) denials(ctx context.Context, bottle string, ids []string) ([]schemas.Denial, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []schemas.Denial
	from := events.AfterSeq(bottle, 0)
	store := d.cfg.Channel.Store()
	for len(out) < len(want) {
		page, err := store.Read(ctx, from, 2000)
		if err != nil {
			return out, fmt.Errorf("read the denials of %s: %w", bottle, err)
		}
		for _, e := range page.Events {
			if e.Kind != schemas.KindDenial || e.Bottle != bottle {
				continue
			}
			var x schemas.Denial
			if e.Decode(&x) == nil && want[x.ID] {
				out = append(out, x)
			}
		}
		if page.Empty() {
			break
		}
		from = page.Next
	}
	return out, nil
}

// groupDenials merges identical requests (method, host, port, path and
// reason), oldest first.
func groupDenials(ds []schemas.Denial) []DeniedRequest {
	out := []DeniedRequest{}
	for _, x := range ds {
		i := slices.IndexFunc(out, func(g DeniedRequest) bool {
			return g.Method == x.Method && g.Host == x.Host && g.Port == x.Port && g.Path == x.Path && g.Reason == x.Reason
		})
		if i < 0 {
			out = append(out, DeniedRequest{Method: x.Method, Host: x.Host, Port: x.Port, Path: x.Path, Reason: x.Reason, First: x.Time, Last: x.Time})
			i = len(out) - 1
		}
		g := &out[i]
		g.Count++
		g.IDs = append(g.IDs, x.ID)
		if x.Time.Before(g.First) {
			g.First = x.Time
		}
		if x.Time.After(g.Last) {
			g.Last = x.Time
		}
	}
	slices.SortStableFunc(out, func(a, b DeniedRequest) int { return a.First.Compare(b.First) })
	return out
}

// RouteLine is one route for a person: host[:port]; paths; methods; how
// it is reached. Its paths may be the agent's: show it through
// schemas.AgentText where it reaches a reader.
func RouteLine(r schemas.RouteRule) string {
	parts := []string{r.HostPort()}
	if r.TLSPassthrough {
		parts = append(parts, "tls passthrough")
	}
	if len(r.PathAllowlist) > 0 {
		parts = append(parts, "paths "+strings.Join(r.PathAllowlist, " "))
	} else if !r.TLSPassthrough {
		parts = append(parts, "all paths")
	}
	if len(r.Methods) > 0 {
		parts = append(parts, "methods "+strings.Join(r.Methods, " "))
	} else if !r.TLSPassthrough {
		parts = append(parts, "all methods")
	}
	if r.Auth != nil {
		parts = append(parts, fmt.Sprintf("credential injected (%s, slot %s)", r.Auth.Scheme, r.Auth.Slot))
	}
	return strings.Join(parts, "; ")
}
