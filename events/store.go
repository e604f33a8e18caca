package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Store is the durable channel: every event is appended to it, and every
// reader (in this process or another) replays and follows it. events/sqlite
// implements it on one machine; the interface is shaped so that a
// distributed log (NATS JetStream: a subject per bottle, message ids for
// deduplication, the stream sequence as Pos) could implement it without its
// callers changing.
//
// Errors: methods return ErrClosed after Close, wrap the context's error
// when ctx ends, and otherwise return an error that names the store and the
// operation. Append is all or nothing: on error, none of the batch is stored.
type Store interface {
	// Append stores evs in order, assigning each its Seq (the next one of
	// its bottle, gapless) and Pos, and returns the events it stored with
	// those set. An event whose ID is already stored is skipped, not stored
	// twice: delivering the same event again is harmless, which is what
	// makes at-least-once delivery exactly once in the store. Seq and Pos
	// given by the caller are ignored. An invalid event (see Prepare) fails
	// the whole batch with an error naming its index.
	Append(ctx context.Context, evs []schemas.Event) ([]schemas.Event, error)
	// Sync makes every event that Append has returned durable across a
	// power loss or an operating-system crash. Append alone guarantees
	// that the crash of any process, this one included, cannot lose an
	// event it returned; it does not wait for the disk. A receiver that
	// acknowledges events to a sender which then forgets them (the
	// control plane answering a sidecar) calls Sync first.
	Sync(ctx context.Context) error

	// Read returns up to limit events after from, in order (Seq order for a
	// bottle cursor, Pos order for an all-bottles cursor), the ranges
	// retention removed between from and those events, and the cursor to
	// read from next. An empty page means nothing is stored after from yet.
	Read(ctx context.Context, from Cursor, limit int) (Page, error)

	// Follow replays everything after from and then follows live, calling fn
	// with each page in order, until ctx ends (it returns ctx's error), the
	// store closes (ErrClosed), or fn returns an error (returned as is).
	// Replay and live are one loop over the same cursor, so nothing is
	// missed or repeated where one turns into the other. A slow fn delays
	// only its own follower: it falls behind and catches up from the store;
	// it never holds up Append or other followers.
	Follow(ctx context.Context, from Cursor, fn func(Page) error) error

	// Head returns the cursor after the newest stored event: of bottle, or
	// of every bottle when bottle is "". Following from it sees only what
	// is appended from now on.
	Head(ctx context.Context, bottle string) (Cursor, error)

	// Query returns the stored events that match f, newest first (by Time,
	// then Pos), at most f.Limit of them, and the mark to pass as
	// f.Before for the next, older page. Unlike Read it never walks events
	// that do not match: the kind, bottle, host and time of every event
	// are indexed, so a page costs about the same in a store of a thousand
	// events or of a million. It is how denials and proposals are listed.
	// Retention applies: what it removed is not found. A filter that
	// Normalize refuses is an error wrapping ErrFilter.
	Query(ctx context.Context, f Filter) (Matches, error)
	// Latest returns, for each bottle, its most recent event of kind, sorted
	// by bottle. It answers "which bottles are running" (the latest
	// KindLifecycle of each) in one query; retention never removes these.
	Latest(ctx context.Context, kind schemas.Kind) ([]schemas.Event, error)

	// Close stops background work and releases the store. Followers return
	// ErrClosed.
	Close() error
}

// ErrClosed is returned by a Store or Bus used after Close.
var ErrClosed = errors.New("event store closed")

// Cursor is a position in the channel: after a sequence number of one
// bottle, or, when Bottle is "", after a global position (Event.Pos) across
// every bottle. The zero Cursor is the start of everything.
type Cursor struct {
	Bottle string `json:"bottle,omitempty"`
	After  uint64 `json:"after"`
}

// AfterSeq is the cursor after seq of bottle.
func AfterSeq(bottle string, seq uint64) Cursor { return Cursor{Bottle: bottle, After: seq} }

// AfterPos is the cursor after global position pos, across every bottle.
func AfterPos(pos uint64) Cursor { return Cursor{After: pos} }

// Advance returns the cursor just after ev, which must be an event the
// cursor's reader received.
func (c Cursor) Advance(ev schemas.Event) Cursor {
	if c.Bottle != "" {
		return Cursor{Bottle: c.Bottle, After: ev.Seq}
	}
	return Cursor{After: ev.Pos}
}

func (c Cursor) String() string {
	if c.Bottle != "" {
		return fmt.Sprintf("bottle %q after seq %d", c.Bottle, c.After)
	}
	return fmt.Sprintf("all bottles after position %d", c.After)
}

// Gap is a range of events of one bottle that retention removed before the
// reader got to them. Readers are told, never left to skip silently.
type Gap struct {
	Bottle string `json:"bottle"`
	// First is the first missing seq, or 0 when the reader follows every
	// bottle and cannot know which of the bottle's events it had seen.
	First uint64 `json:"first_seq,omitempty"`
	Last  uint64 `json:"last_seq"` // the last missing seq
}

func (g Gap) String() string {
	if g.First == 0 {
		return fmt.Sprintf("events of bottle %q up to seq %d were removed by retention before they were read", g.Bottle, g.Last)
	}
	return fmt.Sprintf("events %d..%d of bottle %q were removed by retention before they were read", g.First, g.Last, g.Bottle)
}

// Page is one answer of Read: the gaps come before the events in stream
// order.
type Page struct {
	Gaps   []Gap
	Events []schemas.Event
	Next   Cursor // where to read from next
}

// Empty reports whether the page carries neither events nor gaps.
func (p Page) Empty() bool { return len(p.Events) == 0 && len(p.Gaps) == 0 }
