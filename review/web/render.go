package web

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// The page shows what an agent wrote only through the agent* functions:
// cleaned by schemas.AgentText (no control, bidi or invisible character,
// bounded), escaped by html/template, and placed in elements the page
// labels as the agent's.
var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"ago":        func(t time.Time) string { return time.Since(t).Round(time.Second).String() + " ago" },
	"utc":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"agent":      func(s string) string { return schemas.AgentText(s).Lines(0) },
	"agentLine":  func(s string) string { return schemas.AgentText(s).Line(0) },
	"agentBlock": func(s string) string { return schemas.AgentText(s).Block(0) },
	"route":      review.RouteLine,
	"words":      func(l []string) string { return strings.Join(l, " ") },
	// changesRoutes is false for a held request or a refused push: no
	// denials, live routes or persist apply to it.
	"changesRoutes": review.ChangesRoutes,
	"maxFor":        func() string { return review.FormatFor(review.MaxFor) },
	"outsideFiles":  func() string { return schemas.FindingOutsideFiles },
	"shortCommit": func(c string) string {
		if len(c) > 12 {
			return c[:12]
		}
		return c
	},
	"hostPort": func(host string, port int) string {
		if port != 0 && port != 443 && port != 80 {
			return host + ":" + strconv.Itoa(port)
		}
		return host
	},
}).ParseFS(assets, "assets/*.tmpl"))

// pending is a pending proposal with the evidence to decide it by.
type pending struct {
	review.View
	Evidence review.Evidence
}

// view is what the templates render.
type view struct {
	Base    string
	Pending []pending
	Decided []review.View
	Denials []schemas.Denial
	Now     time.Time
	LoadErr string
}

func (p *page) load(ctx context.Context) view {
	v := view{Base: p.cfg.Base, Now: time.Now()}
	all, err := p.cfg.Desk.Proposals(ctx, review.Filter{})
	if err != nil {
		v.LoadErr = err.Error()
		return v
	}
	for _, pr := range all {
		if pr.Status == schemas.ProposalPending && pr.Decision == nil {
			v.Pending = append(v.Pending, pending{View: pr, Evidence: p.cfg.Desk.Evidence(ctx, pr)})
		} else if len(v.Decided) < 20 {
			v.Decided = append(v.Decided, pr)
		}
	}
	if v.Denials, err = p.recentDenials(ctx, 30); err != nil {
		v.LoadErr = err.Error()
	}
	return v
}

func (p *page) full(w http.ResponseWriter, r *http.Request) {
	p.render(w, "page.tmpl", p.load(r.Context()))
}

func (p *page) partial(w http.ResponseWriter, r *http.Request) {
	p.render(w, "live.tmpl", p.load(r.Context()))
}

func (p *page) render(w http.ResponseWriter, name string, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := tmpl.ExecuteTemplate(w, name, v); err != nil {
		p.cfg.Logger.Error("review page: render", "template", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
