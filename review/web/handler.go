package web

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

//go:embed assets/*
var assets embed.FS

// Config is what the page needs.
type Config struct {
	Desk  *review.Desk
	Store events.Store // for recent denials and the live stream
	// Token guards every route but the login; "" refuses everything.
	Token string
	// Base is where the page is mounted (default /review).
	Base string
	// DecideWait bounds how long a click waits for the bottle's owner.
	DecideWait time.Duration
	Logger     *slog.Logger
}

// Handler serves the review page under cfg.Base: the page, its partial
// (the live part, re-fetched on every update), its script, the event
// stream, the decide endpoint and the login.
func Handler(cfg Config) http.Handler {
	if cfg.Base == "" {
		cfg.Base = "/review"
	}
	cfg.Base = strings.TrimSuffix(cfg.Base, "/")
	if cfg.DecideWait <= 0 {
		cfg.DecideWait = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &page{cfg: cfg}
	mux := http.NewServeMux()
	guard := func(h http.HandlerFunc) http.Handler { return RequireToken(cfg.Token, secure(h)) }
	mux.Handle("GET "+cfg.Base+"/login", secure(login(cfg.Token, cfg.Base)))
	mux.Handle("GET "+cfg.Base, guard(p.full))
	mux.Handle("GET "+cfg.Base+"/{$}", guard(p.full))
	mux.Handle("GET "+cfg.Base+"/partial", guard(p.partial))
	mux.Handle("GET "+cfg.Base+"/events", guard(p.stream))
	mux.Handle("POST "+cfg.Base+"/decide", guard(p.decide))
	mux.Handle("GET "+cfg.Base+"/app.js", guard(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		b, _ := assets.ReadFile("assets/app.js")
		_, _ = w.Write(b)
	}))
	return mux
}

// secure sets the headers that keep agent-written text inert in the
// operator's browser.
func secure(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

type page struct{ cfg Config }

// recentDenials returns up to n of the newest denials, newest first,
// through the store's indexed Query.
func (p *page) recentDenials(ctx context.Context, n int) ([]schemas.Denial, error) {
	m, err := p.cfg.Store.Query(ctx, events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Limit: n})
	if err != nil {
		return nil, err
	}
	out := make([]schemas.Denial, 0, len(m.Events))
	for _, ev := range m.Events {
		var d schemas.Denial
		if ev.Decode(&d) == nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// decide applies one click.
func (p *page) decide(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "decisions are accepted only from the review page itself"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	dec := schemas.Decision{ProposalID: r.PostForm.Get("proposal_id"), Action: r.PostForm.Get("action"),
		Scope: r.PostForm.Get("scope"), Reason: strings.TrimSpace(r.PostForm.Get("reason")), DecidedBy: schemas.DecidedByWeb}
	var err error
	if f := strings.TrimSpace(r.PostForm.Get("for")); f != "" {
		// The page's "for" field: how long a once-approval lasts. Parsed
		// here only to name the field in the error; the desk normalizes it
		// and refuses it on a deny or a persist (CheckDecision), so filled
		// in there it is refused, not dropped.
		if _, err := review.ParseFor(`the "for" field`, f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		dec.For = f
	}
	switch dec.Action {
	case schemas.ActionDeny:
		dec.Scope = ""
		if dec.Reason == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "deny needs a reason: the agent reads it to decide what to do next"})
			return
		}
	case schemas.ActionModify:
		// The person narrows the agent's route: fewer paths, fewer
		// methods (an empty field keeps the proposed ones).
		var v review.View
		if v, err = p.cfg.Desk.Proposal(r.Context(), dec.ProposalID); err == nil {
			dec.Route = review.EditRoute(v, r.PostForm.Get("paths"), r.PostForm.Get("methods"))
		}
	}
	var applied *schemas.Applied
	if err == nil {
		applied, err = p.cfg.Desk.Decide(r.Context(), dec, p.cfg.DecideWait)
	}
	switch {
	case errors.Is(err, review.ErrUnknownProposal):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, review.ErrNotPending), errors.Is(err, review.ErrBottleGone):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, applied)
	}
}
