package egressproxy

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// No token value, in any of the forms the tests send it in, appears in the
// proxy's logs, events, denial bodies, recent denials or /routes, whatever
// the agent does with it.
func TestNoTokenInOutputs(t *testing.T) {
	f := newFixture(t, append(append([]schemas.RouteRule(nil), defaultRoutes...), rule("dead.test"), rule("rebind.test")),
		func(c *Config) {
			c.Resolve["dead.test:443"] = "127.0.0.1:1"
			c.LookupIP = func(context.Context, string) ([]netip.Addr, error) {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
		})
	forms := []string{testToken, base64.StdEncoding.EncodeToString([]byte(testToken)), hex.EncodeToString([]byte(testToken)), url.QueryEscape(testToken)}
	var bodies []string
	record := func(b []byte) { bodies = append(bodies, string(b)) }
	for _, form := range forms {
		for _, u := range []string{
			"https://api.allowed.test/repos/myorg/" + form,
			"https://api.allowed.test/repos/myorg/x?t=" + form,
			"https://api.allowed.test/nope/" + form + "?t=" + form,
			"https://dead.test/" + form,
			"https://dead.test/x?t=" + form,
			"https://rebind.test/x?t=" + form,
			"http://plain.allowed.test/" + form,
		} {
			resp, b, err := f.do("GET", u, strings.NewReader(form), nil)
			if err == nil {
				record(b)
				_ = resp
			}
		}
		_, b := f.rawMITM("api.allowed.test:443", "GET /x/"+form+" HTTP/1.1\r\nHost: evil.test\r\n\r\n")
		record(b)
		_, _, err := f.mitm(form+".test:443", "x")
		var refused *connectRefused
		if errors.As(err, &refused) {
			record(refused.body)
		}
	}
	// A reload that fails, and one that works.
	_ = f.proxy.Reload(&schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{{Host: "x.test", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_7"}}}}, "api")
	_ = f.proxy.Reload(&schemas.RoutesFile{Version: 1, Routes: defaultRoutes}, "api")
	// Introspection.
	resp, err := f.client.Get("http://" + IntrospectionHost + "/routes")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	record(b)
	resp, err = f.client.Get("http://" + IntrospectionHost + "/denials?last=256")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	record(b)
	evs, _ := json.Marshal(f.pub.Events())
	denials, _ := json.Marshal(f.proxy.RecentDenials(256))
	outputs := map[string]string{"logs": f.logs.String(), "events": string(evs), "denials": string(denials),
		"responses": strings.Join(bodies, "\n")}
	for name, out := range outputs {
		for i, form := range forms {
			if strings.Contains(out, form) {
				t.Errorf("%s contain the token (form %d)", name, i)
			}
		}
	}
	if len(f.pub.Events()) < 20 || !strings.Contains(f.logs.String(), "egress denied") {
		t.Fatalf("the test produced too little output to mean anything: %d events", len(f.pub.Events()))
	}
}
