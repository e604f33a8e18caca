package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func table() *schemas.RoutesFile {
	return &schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
		{Host: "api.github.com", PathAllowlist: []string{"/repos/myorg/"}, Methods: []string{"GET"},
			Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
		{Host: "open.example.com"},
		{Host: "registry.npmjs.org", TLSPassthrough: true},
	}}
}

func TestApplyRequest(t *testing.T) {
	cases := []struct {
		req   RouteRequest
		delta string
		route string
	}{
		{RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET"}},
			"new host pypi.org; paths +/simple/; methods +GET", "{Host:pypi.org Port:0 PathAllowlist:[/simple/] Methods:[GET] Auth:<nil> TLSPassthrough:false WebSocket:false DLP:}"},
		{RouteRequest{Host: "PyPI.org."}, "new host pypi.org", "{Host:pypi.org Port:0 PathAllowlist:[] Methods:[] Auth:<nil> TLSPassthrough:false WebSocket:false DLP:}"},
		{RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/myorg/x"}}, "widen api.github.com; all methods", ""},
		{RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/myorgX/"}, Methods: []string{"GET", "POST"}},
			"widen api.github.com; paths +/repos/myorgX/; methods +POST", ""},
		{RouteRequest{Host: "api.github.com", PathPrefixes: []string{"/repos/myorg/a"}, Methods: []string{"GET"}}, "no change: already allowed", ""},
		{RouteRequest{Host: "api.github.com", Methods: []string{"GET"}}, "widen api.github.com; all paths", ""},
		{RouteRequest{Host: "open.example.com", PathPrefixes: []string{"/x"}}, "no change: already allowed", ""},
		{RouteRequest{Host: "registry.npmjs.org", PathPrefixes: []string{"/x"}}, "no change: already allowed", ""},
		{RouteRequest{Host: "open.example.com", Port: 8443}, "new host open.example.com:8443", ""},
	}
	for _, c := range cases {
		d, next, err := ApplyRequest(table(), c.req)
		if err != nil {
			t.Fatalf("%+v: %v", c.req, err)
		}
		if d.String() != c.delta {
			t.Errorf("%+v: delta %q, want %q", c.req, d.String(), c.delta)
		}
		if c.route != "" {
			if got := fmt.Sprintf("%+v", d.Route); got != c.route {
				t.Errorf("%+v: route %s, want %s", c.req, got, c.route)
			}
		}
		// Credentials are never added or changed.
		for _, r := range next.Routes {
			if r.Host == "api.github.com" && (r.Auth == nil || r.Auth.Slot != "EGRESS_TOKEN_0") {
				t.Fatalf("auth changed: %+v", r)
			}
			if r.Host != "api.github.com" && r.Auth != nil {
				t.Fatalf("auth added: %+v", r)
			}
		}
		// The input table is untouched.
		if tb := table(); len(tb.Routes[0].PathAllowlist) != 1 {
			t.Fatal("table mutated")
		}
	}
}

func TestCheckRequestRefuses(t *testing.T) {
	for req, want := range map[*RouteRequest]string{
		{Host: "127.0.0.1"}:                                    "IP literals are not allowed",
		{Host: "[::1]"}:                                        "IP literals are not allowed",
		{Host: "2130706433"}:                                   "IP literals are not allowed",
		{Host: "localhost"}:                                    "names the machine itself",
		{Host: "foo.localhost"}:                                "names the machine itself",
		{Host: "metadata.google.internal"}:                     "names the machine itself",
		{Host: "egress.bottle.internal"}:                       "names the machine itself",
		{Host: "printer.local"}:                                "names the machine itself",
		{Host: "169.254.169.254"}:                              "IP literals are not allowed",
		{Host: "*.github.com"}:                                 "wildcards",
		{Host: "https://x.example"}:                            "not a URL",
		{Host: "x.example", PathPrefixes: []string{"/a/../b"}}: "path_prefixes[0] must not contain . or .. segments",
		{Host: "x.example", Methods: []string{"CONNECT"}}:      `methods[0] "CONNECT" is not one of`,
		{Host: "x.example", Port: 70000}:                       "port must be between 1 and 65535",
	} {
		err := CheckRequest(*req)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckRequest(%+v) = %v, want %q", *req, err, want)
		}
	}
}

func TestPathHasPrefix(t *testing.T) {
	for _, c := range []struct {
		p, prefix string
		want      bool
	}{
		{"/repos/myorg/x", "/repos/myorg/", true},
		{"/repos/myorg/", "/repos/myorg/", true},
		{"/repos/myorgX", "/repos/myorg/", false},
		{"/repos/myorg", "/repos/myorg/", false},
		{"/repos/myorg", "/repos/myorg", true},
		{"/repos/myorg/x", "/repos/myorg", true},
		{"/repos/myorgX", "/repos/myorg", false},
		{"/anything", "/", true},
	} {
		if got := PathHasPrefix(c.p, c.prefix); got != c.want {
			t.Errorf("PathHasPrefix(%q, %q) = %v", c.p, c.prefix, got)
		}
	}
}
