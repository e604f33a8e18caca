package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// stream sends a server-sent event for every new proposal, decision,
// outcome (applied or expired) and denial on the channel (any bottle, any
// process), as the desk's one follower (review.Desk.Watch) sees them; the
// page re-fetches its live part on each. A comment every 15s keeps proxies
// from closing it.
func (p *page) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	head, err := p.cfg.Desk.Head(ctx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	updates := make(chan schemas.Event, 64)
	go func() {
		_ = p.cfg.Desk.Watch(ctx, head, func(u review.Update) {
			if u.Proposal == nil && u.Applied == nil && u.Decision == nil && u.Denial == nil && u.Expired == nil {
				return // reloads and lifecycle changes: nothing the page shows
			}
			select {
			case updates <- u.Event:
			default: // the page re-fetches everything on the next one anyway
			}
		})
	}()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case ev := <-updates:
			b, _ := json.Marshal(map[string]any{"kind": ev.Kind, "bottle": ev.Bottle, "id": ev.ID})
			fmt.Fprintf(w, "event: update\ndata: %s\n\n", b)
		}
		fl.Flush()
	}
}
