package review

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// BenchmarkApprovalToAdmit measures the time from an operator's approval
// to the bottle's proxy admitting the agent's request: on SQLite with
// desk and owner in one process (one machine), and on NATS with the desk
// on its own connection (machine B) and the owner on another (machine A).
// It reports p50 and p95 of b.N approvals.
func BenchmarkApprovalToAdmit(b *testing.B) {
	for _, kind := range []string{"sqlite", "nats"} {
		b.Run(kind, func(b *testing.B) {
			var ownerStore, deskStore events.Store
			if kind == "nats" {
				srv := natstest.Start(b, natstest.Options{})
				for _, s := range []*events.Store{&ownerStore, &deskStore} {
					st, err := natsjs.Open(context.Background(), natsjs.Options{URL: srv.URL()})
					if err != nil {
						b.Fatal(err)
					}
					*s = st
				}
			}
			w := newWorldOn(b, baseManifest, Limits{}, ownerStore)
			desk := w.desk
			if deskStore != nil {
				bus := events.NewBus(deskStore, events.BusOptions{})
				b.Cleanup(func() { bus.Close(context.Background()); deskStore.Close() })
				desk = NewDesk(DeskConfig{Channel: bus, Running: func(context.Context, string) (bool, error) { return true, nil }})
			}
			c := w.client()
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				prefix := fmt.Sprintf("/p%d/", i)
				waiting := w.request(planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{prefix}, Methods: []string{"GET"}}, time.Minute)
				var v View
				for v.ID == "" {
					views, err := desk.Proposals(context.Background(), Filter{Status: schemas.ProposalPending})
					if err != nil {
						b.Fatal(err)
					}
					if len(views) == 1 {
						v = views[0]
					}
				}
				start := time.Now()
				if _, err := desk.Decide(context.Background(), schemas.Decision{ProposalID: v.ID, Action: schemas.ActionApprove,
					Scope: schemas.ScopeOnce, DecidedBy: schemas.DecidedByCLI}, time.Minute); err != nil {
					b.Fatal(err)
				}
				for {
					resp, err := c.Get("https://pypi.org" + prefix + "x")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
					}
					if time.Since(start) > time.Minute {
						b.Fatal("the proxy never admitted the request")
					}
				}
				lat = append(lat, time.Since(start))
				<-waiting
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.95), "p95-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
