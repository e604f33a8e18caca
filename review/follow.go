package review

import (
	"context"
	"fmt"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Following the desk is written once, here: the interactive reviewer, the
// web page's live stream and the MCP notifications each render the same
// Updates their own way.

// Update is one event on the channel, decoded for a desk. Exactly one of
// the payload fields is set for the kinds a desk shows (denials, proposals,
// decisions, outcomes); other kinds (reloads, lifecycle changes) come with
// Event only.
type Update struct {
	Event    schemas.Event
	Denial   *schemas.Denial
	Proposal *schemas.Proposal
	// New reports a proposal's first event; a merged duplicate (the same
	// request asked again) is published again with a higher Count.
	New      bool
	Decision *schemas.Decision
	Applied  *schemas.Applied
	Expired  *schemas.Expired
	// RouteExpired reports a time-limited approval's route removed.
	RouteExpired *schemas.RouteExpired
}

// Head is the channel's position now, across bottles: Watch from it sees
// only what comes next.
func (d *Desk) Head(ctx context.Context) (events.Cursor, error) {
	head, err := d.cfg.Channel.Store().Head(ctx, "")
	if err != nil {
		return events.Cursor{}, fmt.Errorf("desk: %w", err)
	}
	return head, nil
}

// Watch calls fn with every event stored after from, of every bottle and
// every process, decoded, until ctx ends or fn's caller stops it. An event
// whose payload does not decode is passed with Event only.
func (d *Desk) Watch(ctx context.Context, from events.Cursor, fn func(Update)) error {
	return d.cfg.Channel.Follow(ctx, from, func(p events.Page) error {
		for _, ev := range p.Events {
			fn(decodeUpdate(ev))
		}
		return nil
	})
}

// decodeUpdate decodes ev's payload by its kind.
func decodeUpdate(ev schemas.Event) Update {
	u := Update{Event: ev}
	switch ev.Kind {
	case schemas.KindDenial:
		var x schemas.Denial
		if ev.Decode(&x) == nil {
			if x.Bottle == "" {
				x.Bottle = ev.Bottle
			}
			u.Denial = &x
		}
	case schemas.KindProposal:
		var x schemas.Proposal
		if ev.Decode(&x) == nil {
			u.Proposal, u.New = &x, x.Count <= 1
		}
	case schemas.KindDecision:
		var x schemas.Decision
		if ev.Decode(&x) == nil {
			u.Decision = &x
		}
	case schemas.KindApplied:
		var x schemas.Applied
		if ev.Decode(&x) == nil {
			u.Applied = &x
		}
	case schemas.KindExpired:
		var x schemas.Expired
		if ev.Decode(&x) == nil {
			u.Expired = &x
		}
	case schemas.KindRouteExpired:
		var x schemas.RouteExpired
		if ev.Decode(&x) == nil {
			u.RouteExpired = &x
		}
	}
	return u
}
