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
)

// denialQuery selects denials from the store, newest first.
type denialQuery struct {
	Bottle string      // "" for every bottle
	Host   string      // "" for every host
	Since  time.Time   // zero for all time
	Before events.Mark // resume after this denial; zero for the newest
	Limit  int
}

// denialPage is one page of a denialQuery: newest first, and the cursor
// of the next (older) page when there is one.
type denialPage struct {
	Denials []schemas.Denial
	Next    string
}

// queryDenials reads one page through the store's indexed Query: its cost
// does not grow with the number of events stored.
func queryDenials(ctx context.Context, store events.Store, q denialQuery) (denialPage, error) {
	if q.Limit <= 0 {
		q.Limit = defaultDenialPage
	}
	m, err := store.Query(ctx, events.Filter{Kinds: []schemas.Kind{schemas.KindDenial}, Bottle: q.Bottle, Host: q.Host,
		Since: q.Since, Before: q.Before, Limit: min(q.Limit, maxDenialPage)})
	if err != nil {
		return denialPage{}, fmt.Errorf("read denials: %w", err)
	}
	var out denialPage
	if !m.Next.IsZero() {
		out.Next = encodeCursor(m.Next)
	}
	out.Denials = make([]schemas.Denial, 0, len(m.Events))
	for _, ev := range m.Events {
		var d schemas.Denial
		if err := ev.Decode(&d); err != nil {
			continue
		}
		if d.Bottle == "" {
			d.Bottle = ev.Bottle
		}
		out.Denials = append(out.Denials, d)
	}
	return out, nil
}

// cursorPrefix versions the opaque cursor, so that a change of its
// meaning is refused rather than misread: d1 was a position (denials
// stored before it), d2 is a place in the newest-first order (the time
// and position of the last denial of a page).
const cursorPrefix = "d2."

// encodeCursor makes the opaque cursor for "denials older than m".
func encodeCursor(m events.Mark) string {
	raw := strconv.FormatInt(m.Time.UnixNano(), 10) + "." + strconv.FormatUint(m.Pos, 10)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// errBadCursor says a cursor did not come from this server.
var errBadCursor = errors.New("cursor is not one this server gave out: pass next_cursor from an earlier egress_denials result, or omit it for the newest denials")

// decodeCursor reads a cursor made by encodeCursor.
func decodeCursor(s string) (events.Mark, error) {
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || len(rest) > 64 {
		return events.Mark{}, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return events.Mark{}, errBadCursor
	}
	ns, p, ok := strings.Cut(string(raw), ".")
	if !ok {
		return events.Mark{}, errBadCursor
	}
	t, err1 := strconv.ParseInt(ns, 10, 64)
	pos, err2 := strconv.ParseUint(p, 10, 64)
	m := events.Mark{Time: time.Unix(0, t).UTC(), Pos: pos}
	// Only the exact form this server writes: base64 and decimal both
	// have other spellings of one value (newlines, trailing bits, zeros).
	if err1 != nil || err2 != nil || t <= 0 || pos == 0 || encodeCursor(m) != s {
		return events.Mark{}, errBadCursor
	}
	return m, nil
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
