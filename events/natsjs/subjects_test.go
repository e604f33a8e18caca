package natsjs

import (
	"strings"
	"testing"
)

func TestSubjects(t *testing.T) {
	n := namesFor("botbottle")
	for _, c := range []struct{ bottle, kind, want string }{
		{"demo-1a2b", "egress.denial", "botbottle.ev.demo-1a2b.egress.denial"},
		{"a.b", "egress.denial", "botbottle.ev.~YS5i.egress.denial"},
		{"x", "odd..kind", "botbottle.ev.x.~b2RkLi5raW5k"},
		{"x", "a*", "botbottle.ev.x.~YSo"},
	} {
		if got := n.subject(c.bottle, c.kind); got != c.want {
			t.Errorf("subject(%q, %q) = %q, want %q", c.bottle, c.kind, got, c.want)
		}
	}
	if n.stream != "BOTBOTTLE_EVENTS" || n.bucket != "BOTBOTTLE_OWNERS" {
		t.Errorf("names: %+v", n)
	}
	for _, id := range []string{"plain-id_1", "with.dot", "star*", "=eq", "~tilde", strings.Repeat("é", 40)} {
		k := key(id)
		if got, ok := unkey(k); !ok || got != id {
			t.Errorf("key(%q) = %q reads back as %q", id, k, got)
		}
		if strings.ContainsAny(k, "*>~ ") {
			t.Errorf("key(%q) = %q holds a character KV keys refuse", id, k)
		}
	}
}
