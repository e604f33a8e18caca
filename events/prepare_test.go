package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestPrepareNamesWhatIsWrong(t *testing.T) {
	ok := storetest.Event(t, "a", schemas.KindDenial, 1)
	cases := []struct {
		name string
		edit func(*schemas.Event)
		want string
	}{
		{"no id", func(e *schemas.Event) { e.ID = "" }, `event id "" is empty`},
		{"long id", func(e *schemas.Event) { e.ID = strings.Repeat("x", 65) }, "longer than 64"},
		{"escape in bottle", func(e *schemas.Event) { e.Bottle = "a\x1b[2J" }, "control character"},
		{"space in kind", func(e *schemas.Event) { e.Kind = "egress denial" }, `kind "egress denial" has a space`},
		{"bad payload", func(e *schemas.Event) { e.Payload = []byte("{") }, "not valid JSON"},
		{"huge payload", func(e *schemas.Event) { e.Payload = []byte(`"` + strings.Repeat("x", events.MaxPayloadSize) + `"`) }, "more than"},
		{"time far off", func(e *schemas.Event) { e.Time = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) }, "out of range"},
	}
	for _, c := range cases {
		ev := ok
		c.edit(&ev)
		_, err := events.Prepare(ev)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	got, err := events.Prepare(schemas.Event{ID: "x", Bottle: "a", Kind: "k", Seq: 9, Pos: 9})
	if err != nil || string(got.Payload) != "null" || got.Time.IsZero() || got.Seq != 0 || got.Pos != 0 {
		t.Errorf("defaults: %+v, %v", got, err)
	}
}
