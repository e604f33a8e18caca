package egressproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestIntrospection(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	// Make a denial to list.
	if resp, _, err := f.do("GET", "https://api.allowed.test/nope?q="+testToken[:4], nil, nil); err != nil || resp.StatusCode != 403 {
		t.Fatalf("denial: %v %v", err, resp)
	}
	for _, base := range []string{"http://" + IntrospectionHost, "https://" + IntrospectionHost, f.proxyURL.String()} {
		client := f.client
		if base == f.proxyURL.String() {
			client = &http.Client{} // origin form, straight to the proxy
		}
		resp, err := client.Get(base + "/routes")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var view RoutesView
		if err := json.Unmarshal(body, &view); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s/routes: %d %v %s", base, resp.StatusCode, err, body)
		}
		if view.Bottle != "b1" || view.Digest != f.proxy.RoutesDigest() || len(view.Routes) != len(defaultRoutes) ||
			view.Routes[0].Auth.Slot != "EGRESS_TOKEN_0" {
			t.Fatalf("%s/routes: %s", base, body)
		}
		if strings.Contains(string(body), testToken) {
			t.Fatalf("/routes shows a token")
		}
		resp, err = client.Get(base + "/denials?last=5")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		var ds []schemas.Denial
		if err := json.Unmarshal(body, &ds); err != nil || len(ds) != 1 || ds[0].Reason != "path_not_allowed" || ds[0].Path != "/nope?[redacted]" {
			t.Fatalf("%s/denials: %v %s", base, err, body)
		}
		resp, err = client.Get(base + "/denials?last=x")
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("%s/denials?last=x: %v %v", base, err, resp)
		}
		resp.Body.Close()
	}
	if n := len(f.up.seen()) + len(f.plain.seen()); n != 0 {
		t.Fatalf("introspection reached an upstream")
	}
}
