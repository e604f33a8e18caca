package schemas

import (
	"strings"
	"testing"
)

func TestRoutesDigestIsStableAndSensitive(t *testing.T) {
	a := &RoutesFile{Version: 1, Routes: []RouteRule{
		{Host: "api.github.com", PathAllowlist: []string{"/b/", "/a/"}, Methods: []string{"POST", "GET"},
			Auth: &SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
		{Host: "registry.npmjs.org", TLSPassthrough: true},
	}}
	reordered := &RoutesFile{Version: 1, Routes: []RouteRule{
		{Host: "Registry.NPMJS.org.", TLSPassthrough: true},
		{Host: "api.github.com", PathAllowlist: []string{"/a/", "/b/"}, Methods: []string{"GET", "POST"},
			Auth: &SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
	}}
	if a.Digest() != reordered.Digest() {
		t.Fatalf("equivalent tables digest differently")
	}
	if !strings.HasPrefix(a.Digest(), "sha256:") || len(a.Digest()) != len("sha256:")+64 {
		t.Fatalf("digest format: %q", a.Digest())
	}
	changes := []func(rf *RoutesFile){
		func(rf *RoutesFile) { rf.Routes[0].PathAllowlist = append(rf.Routes[0].PathAllowlist, "/c/") },
		func(rf *RoutesFile) { rf.Routes[0].Methods = []string{"GET"} },
		func(rf *RoutesFile) { rf.Routes[0].Port = 8443 },
		func(rf *RoutesFile) { rf.Routes[0].Auth.Slot = "EGRESS_TOKEN_1" },
		func(rf *RoutesFile) { rf.Routes[0].Auth = nil },
		func(rf *RoutesFile) { rf.Routes[1].TLSPassthrough = false },
		func(rf *RoutesFile) { rf.Routes[0].WebSocket = true },
		func(rf *RoutesFile) { rf.Routes = rf.Routes[:1] },
	}
	for i, change := range changes {
		b := &RoutesFile{Version: 1}
		for _, r := range a.Routes {
			c := r
			c.PathAllowlist = append([]string(nil), r.PathAllowlist...)
			if r.Auth != nil {
				auth := *r.Auth
				c.Auth = &auth
			}
			b.Routes = append(b.Routes, c)
		}
		change(b)
		if b.Digest() == a.Digest() {
			t.Errorf("change %d did not change the digest", i)
		}
	}
	var nilTable *RoutesFile
	if nilTable.Digest() != (&RoutesFile{Version: RoutesVersion}).Digest() {
		t.Errorf("nil table should digest like an empty one")
	}
}
