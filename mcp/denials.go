package mcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Bounds of a page of denials.
const (
	defaultDenialPage = 50
	maxDenialPage     = 500
	readBatch         = 2000
)

// denialQuery selects denials from the store, newest first.
type denialQuery struct {
	Bottle string    // "" for every bottle
	Host   string    // normalised; "" for every host
	Since  time.Time // zero for all time
	Before uint64    // only events stored before this position; 0 for none
	Limit  int
}

// denialPage is one page of a denialQuery: newest first, and the cursor
// of the next (older) page when there is one.
type denialPage struct {
	Denials []schemas.Denial
	Next    string
}

// queryDenials reads the channel's store forward (the store has no
// backward read) and keeps the newest matches below the cursor: one pass
// per page, bounded by the store's retention.
func queryDenials(ctx context.Context, store events.Store, q denialQuery) (denialPage, error) {
	if q.Limit <= 0 {
		q.Limit = defaultDenialPage
	}
	from := events.AfterPos(0)
	if q.Bottle != "" {
		from = events.AfterSeq(q.Bottle, 0)
	}
	// ring keeps the last Limit+1 matches: one more than a page says
	// whether an older page exists.
	ring := make([]schemas.Event, 0, q.Limit+1)
	for {
		page, err := store.Read(ctx, from, readBatch)
		if err != nil {
			return denialPage{}, fmt.Errorf("read denials: %w", err)
		}
		for _, ev := range page.Events {
			if ev.Kind != schemas.KindDenial || (q.Before > 0 && ev.Pos >= q.Before) {
				continue
			}
			if !q.Since.IsZero() && ev.Time.Before(q.Since) {
				continue
			}
			if q.Host != "" {
				var d schemas.Denial
				if ev.Decode(&d) != nil || schemas.NormalizeHost(d.Host) != q.Host {
					continue
				}
			}
			if len(ring) == q.Limit+1 {
				copy(ring, ring[1:])
				ring = ring[:q.Limit]
			}
			ring = append(ring, ev)
		}
		if page.Empty() || (q.Before > 0 && len(page.Events) > 0 && page.Events[len(page.Events)-1].Pos >= q.Before) {
			break
		}
		from = page.Next
	}
	var out denialPage
	if len(ring) > q.Limit {
		ring = ring[1:]
		out.Next = encodeCursor(ring[0].Pos)
	}
	out.Denials = make([]schemas.Denial, 0, len(ring))
	for i := len(ring) - 1; i >= 0; i-- {
		var d schemas.Denial
		if err := ring[i].Decode(&d); err != nil {
			continue
		}
		if d.Bottle == "" {
			d.Bottle = ring[i].Bottle
		}
		out.Denials = append(out.Denials, d)
	}
	return out, nil
}

// cursorPrefix versions the opaque cursor, so that a change of its
// meaning is refused rather than misread.
const cursorPrefix = "d1."

// encodeCursor makes the opaque cursor for "denials stored before pos".
func encodeCursor(pos uint64) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(pos, 10)))
}

// errBadCursor says a cursor did not come from this server.
var errBadCursor = errors.New("cursor is not one this server gave out: pass next_cursor from an earlier egress_denials result, or omit it for the newest denials")

// decodeCursor reads a cursor made by encodeCursor.
func decodeCursor(s string) (uint64, error) {
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || len(rest) > 32 {
		return 0, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return 0, errBadCursor
	}
	pos, err := strconv.ParseUint(string(raw), 10, 64)
	// Only the exact form this server writes: base64 and decimal both
	// have other spellings of one value (newlines, trailing bits, zeros).
	if err != nil || pos == 0 || encodeCursor(pos) != s {
		return 0, errBadCursor
	}
	return pos, nil
}

// parseSince reads since as an RFC 3339 time or as a duration back from
// now ("15m", "2h").
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (15m, 2h)", s)
}

// denialSummary is one line about a denial for a person.
func denialSummary(d schemas.Denial) string {
	return fmt.Sprintf("%s %s %s %s%s: %s (%s)", d.Time.UTC().Format(time.RFC3339), d.Bottle, line(d.Method),
		line(hostPort(d.Host, d.Port)), line(d.Path), d.Reason, line(d.ID))
}

// jsonText is v as indented JSON, for resources.
func jsonText(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}
