package natsjs

import (
	"encoding/base64"
	"strings"
)

// Names of the things a store makes on the server, under Options.Prefix
// (default "botbottle"; the stream and bucket names upper-case and
// underscore it): see the package doc.
type names struct {
	prefix string // subject prefix
	stream string // the events stream
	bucket string // the owners key-value bucket
}

func namesFor(prefix string) names {
	up := strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))
	return names{prefix: prefix, stream: up + "_EVENTS", bucket: up + "_OWNERS"}
}

// events is the subject filter of every event.
func (n names) events() string { return n.prefix + ".ev.>" }

// bells is the subject the stream republishes each stored event's headers
// to: a follower's doorbell, rung after the event is stored.
func (n names) bells() string { return n.prefix + ".bell.>" }

// subject is the subject of an event of bottle and kind.
func (n names) subject(bottle, kind string) string {
	return n.prefix + ".ev." + token(bottle) + "." + kindTokens(kind)
}

// ofBottle is the filter of every event of bottle.
func (n names) ofBottle(bottle string) string { return n.prefix + ".ev." + token(bottle) + ".>" }

// bellOf is the doorbell filter of a bottle ("" for every bottle).
func (n names) bellOf(bottle string) string {
	if bottle == "" {
		return n.bells()
	}
	return n.prefix + ".bell." + token(bottle) + ".>"
}

// ofKind is the filter of kind's events of bottle ("" for every bottle).
func (n names) ofKind(bottle, kind string) string {
	b := "*"
	if bottle != "" {
		b = token(bottle)
	}
	return n.prefix + ".ev." + b + "." + kindTokens(kind)
}

// kindTokens makes a kind the last tokens of a subject: as it is when each
// of its dot-separated parts is plain (egress.denial is
// botbottle.ev.<bottle>.egress.denial, so a NATS permission can name the
// kinds a user may publish), else as one encoded token.
func kindTokens(kind string) string {
	for _, part := range strings.Split(kind, ".") {
		if part == "" || token(part) != part {
			return "~" + base64.RawURLEncoding.EncodeToString([]byte(kind))
		}
	}
	return kind
}

// token makes a bottle id or a kind one subject token. The channel accepts
// any printable id without spaces (events.Prepare), which may hold the
// characters NATS gives a meaning ('.', '*', '>'); such a name is written
// as "~" and its unpadded base64url, which holds none of them. Plain names
// (letters, digits, '-', '_'), which is what bot-bottle's ids and kinds
// are, stay readable on the server.
func token(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "~" + base64.RawURLEncoding.EncodeToString([]byte(s))
		}
	}
	return s
}

// key is the owners bucket's key of a bottle: a KV key allows '.', '=',
// '/', '-' and '_' besides letters and digits, but not '~', so an encoded
// name starts with "=" there.
func key(bottle string) string {
	if t := token(bottle); t != bottle {
		return "=" + t[1:]
	}
	return bottle
}
