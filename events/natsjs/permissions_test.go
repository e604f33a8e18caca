package natsjs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/nats-io/nats-server/v2/server"
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
