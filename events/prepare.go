package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Limits on what the channel accepts. They bound what one event can cost the
// store and every reader; a producer that hits them has a bug.
const (
	MaxIDLen       = 64
	MaxBottleLen   = 128
	MaxKindLen     = 64
	MaxPayloadSize = 256 << 10
)

// Prepare checks ev and returns it as a store keeps it: the time in UTC (now
// if unset), Seq and Pos cleared for the store to assign, an empty payload
// as JSON null, and the path of a denial with its query string redacted, a
// last line of defence for a producer that forgot (schemas.RedactQuery).
// The error names the field that is wrong.
func Prepare(ev schemas.Event) (schemas.Event, error) {
	if why := checkToken(ev.ID, MaxIDLen); why != "" {
		return ev, fmt.Errorf("event id %q %s", ev.ID, why)
	}
	if why := checkToken(ev.Bottle, MaxBottleLen); why != "" {
		return ev, fmt.Errorf("event %s: bottle %q %s", ev.ID, ev.Bottle, why)
	}
	if why := checkToken(string(ev.Kind), MaxKindLen); why != "" {
		return ev, fmt.Errorf("event %s: kind %q %s", ev.ID, ev.Kind, why)
	}
	if len(ev.Payload) == 0 {
		ev.Payload = json.RawMessage("null")
	}
	if len(ev.Payload) > MaxPayloadSize {
		return ev, fmt.Errorf("event %s: payload is %d bytes, more than %d", ev.ID, len(ev.Payload), MaxPayloadSize)
	}
	if !json.Valid(ev.Payload) {
		return ev, fmt.Errorf("event %s: payload is not valid JSON", ev.ID)
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if y := ev.Time.Year(); y < 1970 || y > 2200 {
		return ev, fmt.Errorf("event %s: time %s is out of range", ev.ID, ev.Time.Format(time.RFC3339))
	}
	ev.Time = ev.Time.UTC()
	ev.Seq, ev.Pos = 0, 0
	if ev.Kind == schemas.KindDenial && bytes.ContainsAny(ev.Payload, "?#") {
		p, err := redactDenial(ev.Payload)
		if err != nil {
			return ev, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		ev.Payload = p
	}
	return ev, nil
}

// redactDenial re-encodes a denial payload whose path still has a query.
func redactDenial(payload json.RawMessage) (json.RawMessage, error) {
	var d schemas.Denial
	if err := json.Unmarshal(payload, &d); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", schemas.KindDenial, err)
	}
	redacted := schemas.RedactQuery(d.Path)
	if redacted == d.Path {
		return payload, nil
	}
	d.Path = redacted
	out, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", schemas.KindDenial, err)
	}
	return out, nil
}

// checkToken reports what is wrong with an id, bottle or kind: empty, too
// long, or holding spaces or control characters that would garble a log
// line or a terminal.
func checkToken(s string, max int) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > max:
		return fmt.Sprintf("is longer than %d bytes", max)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Sprintf("has a space or control character (%q)", r)
		}
	}
	return ""
}
