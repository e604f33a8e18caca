package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// stream sends a server-sent event for every new proposal, outcome
// (applied or expired) and denial on the channel (any bottle, any process); the page re-fetches its
// live part on each. A comment every 15s keeps proxies from closing it.
func (p *page) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	head, err := p.cfg.Store.Head(ctx, "")
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
		_ = p.cfg.Store.Follow(ctx, head, func(pg events.Page) error {
			for _, ev := range pg.Events {
				switch ev.Kind {
				case schemas.KindProposal, schemas.KindApplied, schemas.KindDecision, schemas.KindDenial, schemas.KindExpired:
					select {
					case updates <- ev:
					case <-ctx.Done():
						return ctx.Err()
					default: // the page re-fetches everything on the next one anyway
					}
				}
			}
			return nil
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
