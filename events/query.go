package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Bounds of one Query page.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
)

// HostKinds are the kinds whose events are about a host (HostOf), the
// ones Filter.Host can select.
var HostKinds = []schemas.Kind{schemas.KindDenial, schemas.KindProposal}

// Filter selects stored events for Store.Query. Every field narrows the
// selection; a store serves each from an index.
type Filter struct {
	// Kinds are the kinds to select; at least one.
	Kinds []schemas.Kind
	// Bottle, when set, selects only that bottle's events.
	Bottle string
	// Host, when set, selects only events about that host (HostOf),
	// compared normalised (case, a trailing dot).
	Host string
	// Since, when set, selects only events whose Time is at or after it.
	Since time.Time
	// Before resumes a listing: only events older than the mark (the Next
	// of the previous page). Zero starts at the newest event.
	Before Mark
	// Limit bounds the page (default DefaultQueryLimit, at most
	// MaxQueryLimit).
	Limit int
}

// Mark is a place in Query's order (newest first: by Time, then by Pos): the
// Time and Pos of an event. The zero Mark is before the newest event.
type Mark struct {
	Time time.Time `json:"time"`
	Pos  uint64    `json:"pos"`
}

// MarkOf is the mark of ev: the events older than it come after ev.
func MarkOf(ev schemas.Event) Mark { return Mark{Time: ev.Time, Pos: ev.Pos} }

// IsZero reports whether m is the zero Mark.
func (m Mark) IsZero() bool { return m.Pos == 0 && m.Time.IsZero() }

// Older reports whether ev comes after m in Query's order.
func (m Mark) Older(ev schemas.Event) bool {
	if m.IsZero() {
		return true
	}
	return ev.Time.Before(m.Time) || ev.Time.Equal(m.Time) && ev.Pos < m.Pos
}

// Matches is one page of Query.
type Matches struct {
	Events []schemas.Event // newest first
	// Next is the Filter.Before of the page of older matches; zero when
	// there are none.
	Next Mark
}

// ErrFilter is wrapped by the error of a Filter a store cannot run.
var ErrFilter = errors.New("invalid event filter")

// Normalize checks f and returns it as a store runs it: the limit within
// its bounds, the host normalised, the kinds sorted without repeats.
func (f Filter) Normalize() (Filter, error) {
	if len(f.Kinds) == 0 {
		return f, fmt.Errorf("%w: no kind: name the kinds to select", ErrFilter)
	}
	kinds := slices.Clone(f.Kinds)
	for _, k := range kinds {
		if why := checkToken(string(k), MaxKindLen); why != "" {
			return f, fmt.Errorf("%w: kind %q %s", ErrFilter, k, why)
		}
	}
	slices.Sort(kinds)
	f.Kinds = slices.Compact(kinds)
	if f.Bottle != "" {
		if why := checkToken(f.Bottle, MaxBottleLen); why != "" {
			return f, fmt.Errorf("%w: bottle %q %s", ErrFilter, f.Bottle, why)
		}
	}
	f.Host = schemas.NormalizeHost(strings.TrimSpace(f.Host))
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultQueryLimit
	case f.Limit > MaxQueryLimit:
		f.Limit = MaxQueryLimit
	}
	if !f.Since.IsZero() {
		f.Since = f.Since.UTC()
	}
	if !f.Before.IsZero() {
		f.Before.Time = f.Before.Time.UTC()
	}
	return f, nil
}

// Match reports whether ev passes f (a normalised filter) but for Limit: a
// store that cannot index a field checks it with Match.
func (f Filter) Match(ev schemas.Event) bool {
	return slices.Contains(f.Kinds, ev.Kind) &&
		(f.Bottle == "" || ev.Bottle == f.Bottle) &&
		(f.Host == "" || HostOf(ev) == f.Host) &&
		(f.Since.IsZero() || !ev.Time.Before(f.Since)) &&
		f.Before.Older(ev)
}

// HostOf returns the host an event is about, normalised: the Host of a
// denial or a proposal; "" for other kinds and for a payload without one.
func HostOf(ev schemas.Event) string {
	if !slices.Contains(HostKinds, ev.Kind) {
		return ""
	}
	var h struct {
		Host string `json:"host"`
	}
	if json.Unmarshal(ev.Payload, &h) != nil {
		return ""
	}
	return schemas.NormalizeHost(h.Host)
}
