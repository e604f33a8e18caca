package egressproxy

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/prometheus/client_golang/prometheus"
)

func TestDenialEventMatchesResponse(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	resp, body, err := f.do("POST", "https://api.allowed.test/repos/other/x?secret=1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := wantReason(t, resp, body, ReasonPathNotAllowed)
	evs := f.pub.Events()
	if len(evs) != 1 || evs[0].Kind != schemas.KindDenial || evs[0].Bottle != "b1" || evs[0].ID == "" {
		t.Fatalf("events: %+v", evs)
	}
	var ev schemas.Denial
	if err := evs[0].Decode(&ev); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(d)
	got, _ := json.Marshal(ev)
	if string(got) != string(want) {
		t.Fatalf("event %s\nbody  %s", got, want)
	}
	if d.Method != "POST" || d.Host != "api.allowed.test" || d.Port != 443 || d.Path != "/repos/other/x?[redacted]" ||
		!strings.Contains(d.Hint, "request_egress") {
		t.Fatalf("denial: %+v", d)
	}
	if r := f.proxy.RecentDenials(10); len(r) != 1 || r[0].ID != d.ID {
		t.Fatalf("recent denials: %+v", r)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, defaultRoutes, func(c *Config) { c.Registerer = reg })
	g := newFixture(t, defaultRoutes, func(c *Config) { c.Registerer = reg; c.Bottle = "b2" })
	_ = g
	f.do("GET", "https://api.allowed.test/repos/myorg/x", nil, nil)
	f.do("GET", "https://api.allowed.test/nope", nil, nil)
	f.do("GET", "http://plain.allowed.test/x", nil, nil)
	count := func(name string, labels ...string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		metric:
			for _, m := range mf.Metric {
				have := map[string]string{}
				for _, lp := range m.Label {
					have[lp.GetName()] = lp.GetValue()
				}
				for i := 0; i < len(labels); i += 2 {
					if have[labels[i]] != labels[i+1] {
						continue metric
					}
				}
				if m.Counter != nil {
					total += m.Counter.GetValue()
				}
				if m.Histogram != nil {
					total += float64(m.Histogram.GetSampleCount())
				}
			}
		}
		return total
	}
	if n := count("bot_bottle_egress_decisions_total", "bottle", "b1", "reason", "path_not_allowed"); n != 1 {
		t.Errorf("path_not_allowed decisions: %v", n)
	}
	if n := count("bot_bottle_egress_decisions_total", "bottle", "b2"); n != 0 {
		t.Errorf("b2 counted b1's decisions: %v", n)
	}
	if n := count("bot_bottle_egress_requests_total", "bottle", "b1", "kind", "connect"); n < 1 {
		t.Errorf("connects: %v", n)
	}
	if n := count("bot_bottle_egress_requests_total", "bottle", "b1", "kind", "http"); n != 1 {
		t.Errorf("plain requests: %v", n)
	}
	if n := count("bot_bottle_egress_upstream_seconds", "bottle", "b1"); n != 2 {
		t.Errorf("upstream latency samples: %v", n)
	}
	// A second proxy for the same bottle cannot register over a live one.
	if _, err := New(Config{Bottle: "b1", Routes: &schemas.RoutesFile{Version: 1}, CA: f.ca, Registerer: reg}); err == nil {
		t.Fatal("two proxies registered metrics for one bottle")
	}
}

// Without a publisher, denials are still kept for /denials and
// RecentDenials.
func TestDenialsWithoutPublisher(t *testing.T) {
	f := newFixture(t, defaultRoutes, func(c *Config) { c.Publisher = nil })
	for range 3 {
		if resp, _, err := f.do("GET", "http://plain.allowed.test/x?"+strings.Repeat("q", 3), nil, http.Header{"X-T": {testToken}}); err != nil || resp.StatusCode != 403 {
			t.Fatalf("%v %v", err, resp)
		}
	}
	got := f.proxy.RecentDenials(2)
	if len(got) != 2 || got[0].Reason != "token_in_header" || got[1].Time.Before(got[0].Time) {
		t.Fatalf("recent denials: %+v", got)
	}
	if n := len(f.proxy.RecentDenials(100)); n != 3 {
		t.Fatalf("%d denials kept, want 3", n)
	}
}
