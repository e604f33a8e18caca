package schemas

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// RoutesVersion is the version of the routes file format this build writes
// and reads.
const RoutesVersion = 1

// RoutesFile is what the egress proxy enforces: the planned routes with each
// credential replaced by a token slot. It never holds a token value or the
// name of a host environment variable, so it can be written to disk, shown to
// an operator and read by a sidecar that gets the values, by slot, from its
// own environment (EGRESS_TOKEN_0, EGRESS_TOKEN_1, ...).
type RoutesFile struct {
	Version int         `yaml:"version" json:"version"`
	Routes  []RouteRule `yaml:"routes" json:"routes"`
}

// RouteRule is one entry of the routes file.
type RouteRule struct {
	Host           string    `yaml:"host" json:"host"`
	Port           int       `yaml:"port,omitempty" json:"port,omitempty"`
	PathAllowlist  []string  `yaml:"path_allowlist,omitempty" json:"path_allowlist,omitempty"`
	Methods        []string  `yaml:"methods,omitempty" json:"methods,omitempty"`
	Auth           *SlotAuth `yaml:"auth,omitempty" json:"auth,omitempty"`
	TLSPassthrough bool      `yaml:"tls_passthrough,omitempty" json:"tls_passthrough,omitempty"`
	// WebSocket lets a route with auth relay WebSocket upgrades (frames
	// scanned and masked); routes without auth relay them anyway.
	WebSocket bool `yaml:"websocket,omitempty" json:"websocket,omitempty"`
	// DLP is what the proxy does with a request to this route that carries
	// a secret: DLPBlock (also when empty), DLPRedact or DLPSupervise.
	DLP string `yaml:"dlp_on_match,omitempty" json:"dlp_on_match,omitempty"`
}

// HostPort is the route's host, with its port when it names one.
func (r RouteRule) HostPort() string {
	if r.Port != 0 {
		return r.Host + ":" + strconv.Itoa(r.Port)
	}
	return r.Host
}

// SlotAuth tells the proxy to inject `Authorization: <Scheme> <token>` where
// the token is the value of the proxy-side environment variable Slot.
type SlotAuth struct {
	Scheme string `yaml:"scheme" json:"scheme"`
	Slot   string `yaml:"slot" json:"slot"`
}

// SlotName returns the name of token slot i: EGRESS_TOKEN_<i>.
func SlotName(i int) string { return fmt.Sprintf("EGRESS_TOKEN_%d", i) }

// IsSlotName reports whether s names a token slot.
func IsSlotName(s string) bool {
	rest, ok := strings.CutPrefix(s, "EGRESS_TOKEN_")
	if !ok || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseRoutes checks that a routes file is whole (CheckRoutesSeal), then
// decodes and validates it as strictly as a manifest.
func ParseRoutes(file string, src []byte) (*RoutesFile, error) {
	if len(src) > MaxManifestSize*8 {
		return nil, Errors{{At: Location{File: file}, Msg: "routes file is too large"}}
	}
	body, err := CheckRoutesSeal(file, src)
	if err != nil {
		return nil, err
	}
	return ParseRoutesBody(file, body)
}

// ParseRoutesBody decodes and validates the content of a routes file
// without its seal. Only what seals a file uses it: a reader of a routes
// file calls ParseRoutes, which refuses a file that is not whole.
func ParseRoutesBody(file string, src []byte) (*RoutesFile, error) {
	if len(src) > MaxManifestSize*8 {
		return nil, Errors{{At: Location{File: file}, Msg: "routes file is too large"}}
	}
	root, err := parseYAML(file, src, 0, "a routes file")
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, Errors{{At: Location{File: file, Line: 1, Col: 1}, Msg: "routes file is empty"}}
	}
	var raw routesFileNode
	d := &nodeDecoder{file: file}
	d.decode(root, reflect.ValueOf(&raw).Elem(), "")
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	rf, errs := raw.validate(file)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return rf, nil
}

// routesFileNode mirrors RoutesFile with positions, for strict decoding.
type routesFileNode struct {
	Version int             `yaml:"version"`
	Routes  []routeRuleNode `yaml:"routes"`
	At      Location        `yaml:"-"`
	KeyAt   map[string]Location
}

type routeRuleNode struct {
	Host           string        `yaml:"host"`
	Port           int           `yaml:"port"`
	PathAllowlist  []string      `yaml:"path_allowlist"`
	Methods        []string      `yaml:"methods"`
	Auth           *slotAuthNode `yaml:"auth"`
	TLSPassthrough bool          `yaml:"tls_passthrough"`
	WebSocket      bool          `yaml:"websocket"`
	DLP            string        `yaml:"dlp_on_match"`

	At              Location `yaml:"-"`
	KeyAt           map[string]Location
	PathAllowlistAt []Location
	MethodsAt       []Location
}

type slotAuthNode struct {
	Scheme string `yaml:"scheme"`
	Slot   string `yaml:"slot"`
	At     Location
	KeyAt  map[string]Location
}

func (n *routesFileNode) validate(file string) (*RoutesFile, Errors) {
	var errs Errors
	if n.Version != RoutesVersion {
		errs = append(errs, &Error{At: n.KeyAt["version"], Key: "version",
			Msg: fmt.Sprintf("unsupported routes file version %d", n.Version), Hint: fmt.Sprintf("this build reads version %d", RoutesVersion)})
	}
	rf := &RoutesFile{Version: n.Version, Routes: make([]RouteRule, 0, len(n.Routes))}
	seen := map[string]bool{}
	for i, rn := range n.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		// Reuse the manifest's route rules; the slot stands in for token_ref.
		r := Route{Host: rn.Host, Port: rn.Port, PathAllowlist: rn.PathAllowlist, Methods: rn.Methods,
			TLSPassthrough: rn.TLSPassthrough, WebSocket: rn.WebSocket, At: rn.At, KeyAt: maps.Clone(rn.KeyAt),
			PathAllowlistAt: rn.PathAllowlistAt, MethodsAt: rn.MethodsAt}
		_, hasAuth := r.KeyAt["auth"]
		delete(r.KeyAt, "auth") // checked below, against slots rather than token_ref
		errs = append(errs, r.validate(key)...)
		errs = append(errs, r.validateWebSocket(key, hasAuth)...)
		rule := RouteRule{Host: NormalizeHost(rn.Host), Port: rn.Port, PathAllowlist: rn.PathAllowlist,
			Methods: rn.Methods, TLSPassthrough: rn.TLSPassthrough, WebSocket: rn.WebSocket, DLP: rn.DLP}
		if at, ok := rn.KeyAt["dlp_on_match"]; ok && !slices.Contains(DLPActions, rn.DLP) {
			errs = append(errs, &Error{At: at, Key: key + ".dlp_on_match", Msg: "is not a DLP action", Hint: oneOf(rn.DLP, DLPActions)})
		}
		delete(r.KeyAt, "dlp_on_match")
		if _, ok := rn.KeyAt["auth"]; ok {
			a := rn.Auth
			switch {
			case a == nil || a.Scheme == "" || a.Slot == "":
				errs = append(errs, &Error{At: rn.KeyAt["auth"], Key: key + ".auth", Msg: "needs scheme and slot"})
			case !slices.Contains(Schemes, a.Scheme):
				errs = append(errs, &Error{At: a.KeyAt["scheme"], Key: key + ".auth.scheme", Msg: "is not a supported scheme", Hint: "one of " + strings.Join(Schemes, ", ")})
			case !IsSlotName(a.Slot):
				errs = append(errs, &Error{At: a.KeyAt["slot"], Key: key + ".auth.slot", Msg: "must be a token slot such as EGRESS_TOKEN_0"})
			case rn.TLSPassthrough:
				errs = append(errs, &Error{At: rn.KeyAt["auth"], Key: key + ".auth", Msg: "cannot be combined with tls_passthrough"})
			default:
				rule.Auth = &SlotAuth{Scheme: a.Scheme, Slot: a.Slot}
			}
		}
		if k := r.RouteKey(); rn.Host != "" && seen[k] {
			errs = append(errs, &Error{At: rn.KeyAt["host"], Key: key + ".host", Msg: "duplicate route for " + k})
		} else {
			seen[k] = true
		}
		rf.Routes = append(rf.Routes, rule)
	}
	for _, e := range errs {
		if e.At.File == "" {
			e.At.File = file
		}
	}
	return rf, errs
}
