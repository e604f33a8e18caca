package schemas

import (
	"strings"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	src := `version: 1
routes:
  - host: API.GitHub.com.
    path_allowlist: [/repos/myorg/]
    methods: [GET]
    auth: {scheme: Bearer, slot: EGRESS_TOKEN_0}
    websocket: true
  - host: registry.npmjs.org
    tls_passthrough: true
  - host: example.com
    port: 8443
`
	rf, err := ParseRoutes("routes.yaml", SealRoutes([]byte(src)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rf.Routes) != 3 || rf.Routes[0].Host != "api.github.com" || rf.Routes[0].Auth.Slot != "EGRESS_TOKEN_0" || !rf.Routes[0].WebSocket ||
		!rf.Routes[1].TLSPassthrough || rf.Routes[2].Port != 8443 {
		t.Fatalf("%+v", rf)
	}
}

func TestParseRoutesRefuses(t *testing.T) {
	cases := map[string]string{
		"version: 2\nroutes: []\n": "routes.yaml:1:1: version: unsupported routes file version 2 (this build reads version 1)",
		"version: 1\nroutes:\n  - host: a.example\n    auth: {scheme: Bearer, token_ref: GITHUB_TOKEN}\n":                         "routes.yaml:4:28: routes[0].auth.token_ref: unknown key (known keys: scheme, slot)",
		"version: 1\nroutes:\n  - host: a.example\n    auth: {scheme: Bearer, slot: GITHUB_TOKEN}\n":                              "routes.yaml:4:28: routes[0].auth.slot: must be a token slot such as EGRESS_TOKEN_0",
		"version: 1\nroutes:\n  - host: a.example\n    tls_passthrough: true\n    auth: {scheme: Bearer, slot: EGRESS_TOKEN_0}\n": "routes[0].auth: cannot be combined with tls_passthrough",
		"version: 1\nroutes:\n  - host: a.example\n  - host: A.example\n":                                                         "routes.yaml:4:5: routes[1].host: duplicate route for a.example",
		"version: 1\nroutes:\n  - host: 127.0.0.1\n":                                                                              "routes.yaml:3:5: routes[0].host: IP literals are not allowed",
		"version: 1\nroutes:\n  - host: a.example\n    websocket: true\n":                                                         "routes.yaml:4:5: routes[0].websocket: applies only to a route with auth",
		"version: 1\nroutes:\n  - host: a.example\n    tls_passthrough: true\n    websocket: true\n":                              "routes.yaml:5:5: routes[0].websocket: cannot be combined with tls_passthrough",
		"": "routes.yaml:1:1: routes file is empty",
		"version: 1\nroutes:\n  - host: a.example\n    secret: hunter2\n": "routes.yaml:4:5: routes[0].secret: unknown key",
	}
	for src, want := range cases {
		_, err := ParseRoutes("routes.yaml", SealRoutes([]byte(src)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRoutes(%q) = %v, want %q", src, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error echoes a value: %v", err)
		}
	}
}
