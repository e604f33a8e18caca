package natsjs_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// SidecarPermissions are the README's NATS permissions of a sidecar's
// user: publish only its bottle's egress events, and read the channel.
func sidecarPermissions(bottle string) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"botbottle.ev." + bottle + ".egress.>",
			"$JS.API.INFO",
			"$JS.API.STREAM.INFO.BOTBOTTLE_EVENTS",
			"$JS.API.STREAM.INFO.KV_BOTBOTTLE_OWNERS",
			"$JS.API.DIRECT.GET.BOTBOTTLE_EVENTS",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
}

// TestSidecarPermissions checks that the documented permissions let a
// sidecar's user store its bottle's denials and nothing else: the NATS
// account is the trust boundary of the shared channel (whoever may
// publish a decision may approve egress), so a sidecar, which runs beside
// an agent, must not hold a user that may.
func TestSidecarPermissions(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{Users: []*server.User{
		{Username: "owner", Password: "owner-pw-3d9a"},
		{Username: "side", Password: "side-pw-8c1f", Permissions: sidecarPermissions("side-1")},
	}})
	ctx := context.Background()
	owner, err := open(t, natsjs.Options{URL: srv.URL(), User: "owner", Password: "owner-pw-3d9a"})
	if err != nil {
		t.Fatal(err)
	}
	side, err := open(t, natsjs.Options{URL: srv.URL(), User: "side", Password: "side-pw-8c1f"})
	if err != nil {
		t.Fatalf("the sidecar's user cannot open the channel the owner made: %v", err)
	}
	if _, err := side.Append(ctx, []schemas.Event{storetest.Event(t, "side-1", schemas.KindDenial, schemas.Denial{Host: "x.test"})}); err != nil {
		t.Fatalf("the sidecar cannot store its denial: %v", err)
	}
	forged := []schemas.Event{
		storetest.Event(t, "side-1", schemas.KindDecision, schemas.Decision{ProposalID: "p1", Action: schemas.ActionApprove}),
		storetest.Event(t, "other", schemas.KindDenial, schemas.Denial{Host: "x.test"}),
	}
	for _, ev := range forged {
		if _, err := side.Append(ctx, []schemas.Event{ev}); !errors.Is(err, natsjs.ErrPermission) {
			t.Errorf("the sidecar's %s of bottle %s: %v, want ErrPermission", ev.Kind, ev.Bottle, err)
		}
	}
	all, _ := storetest.ReadAll(t, owner, events.Cursor{}, 0)
	if len(all) != 1 || all[0].Kind != schemas.KindDenial || all[0].Bottle != "side-1" {
		t.Fatalf("the channel holds %+v, want only the sidecar's denial", all)
	}
}

// TestSidecarCannotForgeInTheBody has the sidecar's user publish straight
// to NATS, on the subject it may publish to, a message whose body names
// another kind and bottle (a decision for another bottle): the subject is
// what the server's permissions checked, so a reader must not take the
// body's word for a kind or bottle its subject does not name, nor stop
// at a body that is not an event.
func TestSidecarCannotForgeInTheBody(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{Users: []*server.User{
		{Username: "owner", Password: "owner-pw-3d9a"},
		{Username: "side", Password: "side-pw-8c1f", Permissions: sidecarPermissions("side-1")},
	}})
	ctx := context.Background()
	owner, err := open(t, natsjs.Options{URL: srv.URL(), User: "owner", Password: "owner-pw-3d9a"})
	if err != nil {
		t.Fatal(err)
	}
	js := rawJetStream(t, srv.URL(), nats.UserInfo("side", "side-pw-8c1f"))
	forged := []string{
		`{"id":"f1","bottle":"other","seq":1,"time":"2026-01-02T03:04:05Z","kind":"review.decision","payload":{"proposal_id":"p1","action":"approve"}}`,
		`{"id":"f2","bottle":"side-1","seq":1,"time":"2026-01-02T03:04:05Z","kind":"review.decision","payload":{"proposal_id":"p1","action":"approve"}}`,
		`{"id":"f3","bottle":"other","seq":1,"time":"2026-01-02T03:04:05Z","kind":"egress.denial","payload":{"host":"x.test"}}`,
		`not an event: a reader that stops at it is wedged`,
	}
	for _, body := range forged {
		if _, err := js.Publish(ctx, "botbottle.ev.side-1.egress.denial", []byte(body)); err != nil {
			t.Fatalf("the sidecar's user cannot publish to its own subject: %v", err)
		}
	}
	honest := storetest.Event(t, "side-1", schemas.KindDenial, schemas.Denial{Host: "x.test"})
	mustAppend(t, owner, []schemas.Event{honest})
	all, _ := storetest.ReadAll(t, owner, events.Cursor{}, 0)
	other, _ := storetest.ReadAll(t, owner, events.AfterSeq("other", 0), 0)
	own, _ := storetest.ReadAll(t, owner, events.AfterSeq("side-1", 0), 0)
	if len(all) != 1 || len(own) != 1 {
		t.Errorf("read %d events of every bottle and %d of side-1, want the honest one", len(all), len(own))
	}
	for _, ev := range slices.Concat(all, other, own) {
		if ev.ID != honest.ID {
			t.Errorf("a reader took a forged body for an event: %s of bottle %s (id %s)", ev.Kind, ev.Bottle, ev.ID)
		}
	}
	// The last message of the subject forged too: Latest reads only that.
	if _, err := js.Publish(ctx, "botbottle.ev.side-1.egress.denial", []byte(forged[2])); err != nil {
		t.Fatal(err)
	}
	for _, k := range []schemas.Kind{schemas.KindDecision, schemas.KindDenial} {
		for _, ev := range storetest.QueryAll(t, owner, events.Filter{Kinds: []schemas.Kind{k}}) {
			if ev.ID != honest.ID {
				t.Errorf("Query took a forged body for an event: %s of bottle %s", ev.Kind, ev.Bottle)
			}
		}
		latest, err := owner.Latest(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range latest {
			if ev.ID != honest.ID {
				t.Errorf("Latest took a forged body for an event: %s of bottle %s", ev.Kind, ev.Bottle)
			}
		}
	}
}
