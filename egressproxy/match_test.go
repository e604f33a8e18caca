package egressproxy

import (
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestPrefixAdmits(t *testing.T) {
	cases := []struct {
		prefix, path string
		want         bool
	}{
		{"/repos/myorg/", "/repos/myorg/x", true},
		{"/repos/myorg/", "/repos/myorg/", true},
		{"/repos/myorg/", "/repos/myorg", false},
		{"/repos/myorg/", "/repos/myorgX", false},
		{"/repos/myorg/", "/repos/myorgX/y", false},
		{"/repos/myorg", "/repos/myorg", true},
		{"/repos/myorg", "/repos/myorg/x", true},
		{"/repos/myorg", "/repos/myorgX", false},
		{"/repos/myorg", "/repos/myorg;x", false},
		{"/", "/anything", true},
		{"/a", "/", false},
	}
	for _, c := range cases {
		if got := prefixAdmits(c.prefix, c.path); got != c.want {
			t.Errorf("prefixAdmits(%q, %q) = %v", c.prefix, c.path, got)
		}
	}
}

// TestPathMethods: an entry that names methods admits only those on its
// paths; where an unqualified entry also covers the path, the route's
// methods apply there.
func TestPathMethods(t *testing.T) {
	tb, err := compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
		{Host: "a.example.com", PathAllowlist: []string{"GET /usage", "GET,POST /credits", "/credits/list"}, Methods: []string{"GET", "POST", "DELETE"}},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := tb.lookup("a.example.com", 443, 443)
	cases := []struct {
		method, path string
		want         Reason
	}{
		{"GET", "/usage", ReasonAllowed},
		{"GET", "/usage/x", ReasonAllowed},
		{"POST", "/usage", ReasonMethodNotAllowed},
		{"POST", "/credits/consume", ReasonAllowed},
		{"DELETE", "/credits/consume", ReasonMethodNotAllowed},
		{"DELETE", "/credits/list", ReasonAllowed},
		{"GET", "/usagex", ReasonPathNotAllowed},
		{"GET", "/other", ReasonPathNotAllowed},
	}
	for _, c := range cases {
		if got := r.admits(c.method, c.path); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.path, got, c.want)
		}
	}
	for _, bad := range []string{"get /x", "GET  /x", "GET,/x", "TRACE /x", "GET x", " /x", "GET,,POST /x", "GET /x y"} {
		if _, err := compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
			{Host: "a.example.com", PathAllowlist: []string{bad}}}}, nil); err == nil {
			t.Errorf("path entry %q compiled", bad)
		}
	}
	// A method the entry names but the route does not is refused by the
	// route: an entry narrows, never widens.
	tb, err = compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
		{Host: "a.example.com", PathAllowlist: []string{"DELETE /x"}, Methods: []string{"GET"}}}}, nil)
	if err == nil {
		t.Errorf("an entry naming a method its route does not allow compiled")
	}
}

func TestLookupPorts(t *testing.T) {
	tb, err := compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
		{Host: "A.example.com."}, {Host: "p.example.com", Port: 8443}, {Host: "p.example.com", Port: 80},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host      string
		port, def int
		want      Reason
	}{
		{"a.example.com", 443, 443, ReasonAllowed},
		{"a.example.com", 80, 80, ReasonAllowed},
		{"a.example.com", 80, 443, ReasonPortNotAllowed}, // CONNECT to :80
		{"a.example.com", 443, 80, ReasonPortNotAllowed}, // http://a:443
		{"a.example.com", 8443, 443, ReasonPortNotAllowed},
		{"p.example.com", 8443, 443, ReasonAllowed},
		{"p.example.com", 443, 443, ReasonPortNotAllowed},
		{"p.example.com", 80, 80, ReasonAllowed},
		{"b.example.com", 443, 443, ReasonHostNotAllowed},
	}
	for _, c := range cases {
		if _, got := tb.lookup(c.host, c.port, c.def); got != c.want {
			t.Errorf("lookup(%s, %d, default %d) = %s, want %s", c.host, c.port, c.def, got, c.want)
		}
	}
}

func TestCompileTableRefusals(t *testing.T) {
	tok := map[string]schemas.Secret{"EGRESS_TOKEN_0": schemas.NewSecret("t0123456789")}
	bad := map[string]schemas.RouteRule{
		"ip host":           {Host: "10.0.0.1"},
		"inet_aton host":    {Host: "0x7f.1"},
		"wildcard":          {Host: "*.example.com"},
		"port":              {Host: "a.example.com", Port: 70000},
		"prefix dotdot":     {Host: "a.example.com", PathAllowlist: []string{"/a/../b"}},
		"prefix escaped":    {Host: "a.example.com", PathAllowlist: []string{"/a%2fb"}},
		"method":            {Host: "a.example.com", Methods: []string{"get"}},
		"missing slot":      {Host: "a.example.com", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_1"}},
		"bad scheme":        {Host: "a.example.com", Auth: &schemas.SlotAuth{Scheme: "Digest", Slot: "EGRESS_TOKEN_0"}},
		"passthrough paths": {Host: "a.example.com", TLSPassthrough: true, PathAllowlist: []string{"/a"}},
	}
	for name, r := range bad {
		_, err := compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{r}}, tok)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "t0123456789") {
			t.Errorf("%s: error shows the token", name)
		}
	}
	if _, err := compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{{Host: "a.test"}, {Host: "A.test."}}}, nil); err == nil {
		t.Error("duplicate host accepted")
	}
}

// FuzzRouteMatch drives the whole matcher (host normalisation, lookup,
// path normalisation, segment-aware prefixes) and checks its promises: only
// the route's own host (any case, one trailing dot) matches, IP literals
// never do, and an admitted path lies under a prefix segment by segment.
func FuzzRouteMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"api.example.com", "/repos/myorg/x"}, {"API.EXAMPLE.COM.", "/repos/myorgX"}, {"127.0.0.1", "/"},
		{"api.example.com..", "/repos/myorg"}, {"[::1]", "/repos/myorg/"}, {"0x7f.1", "/a"}, {"api.example.co", "/repos/myorg/../x"},
		{"api.example.com", "/repos/myorg%2fx"}, {"api.example.com", "/repos//myorg/x"},
	} {
		f.Add(s[0], s[1])
	}
	tb, err := compileTable(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
		{Host: "api.example.com", PathAllowlist: []string{"/repos/myorg/", "GET /exact"}},
	}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, raw string) {
		h := schemas.NormalizeHost(host)
		r, reason := tb.lookup(h, 443, 443)
		if reason == ReasonAllowed {
			if h != "api.example.com" || schemas.IsIPLiteral(host) {
				t.Fatalf("host %q matched", host)
			}
			if !strings.EqualFold(strings.TrimSuffix(host, "."), "api.example.com") {
				t.Fatalf("host %q matched but is not the route's", host)
			}
		} else {
			if strings.EqualFold(strings.TrimSuffix(host, "."), "api.example.com") {
				t.Fatalf("host %q did not match", host)
			}
			return
		}
		dec, ok := normalizePath(raw)
		if !ok || r.admits("GET", dec) != ReasonAllowed {
			return
		}
		if !(strings.HasPrefix(dec, "/repos/myorg/") || dec == "/exact" || strings.HasPrefix(dec, "/exact/")) {
			t.Fatalf("path %q (from %q) admitted outside every prefix", dec, raw)
		}
	})
}
