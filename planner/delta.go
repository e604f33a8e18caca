package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// RouteRequest is the egress an agent asks for: a host and, optionally, path
// prefixes and methods. It can never carry credentials.
type RouteRequest struct {
	Host         string   `json:"host"`
	Port         int      `json:"port,omitempty"`
	PathPrefixes []string `json:"path_prefixes,omitempty"`
	Methods      []string `json:"methods,omitempty"`
}

// IntrospectionHost is the proxy's own magic host; it is never routable.
const IntrospectionHost = "egress.bottle.internal"

// CheckRequest validates a request for egress with the rules of a manifest
// route plus those of remediation: never an IP literal, loopback, link-local
// or cloud metadata name, never the proxy's own host. The error says which
// field is wrong and never echoes more than the host.
func CheckRequest(r RouteRequest) error {
	host := schemas.NormalizeHost(strings.TrimSpace(r.Host))
	if why := schemas.CheckHostName(r.Host); why != "" {
		return fmt.Errorf("host %s", why)
	}
	if schemas.IsSensitiveHostName(host) || host == IntrospectionHost || strings.HasSuffix(host, ".internal") ||
		strings.HasSuffix(host, ".local") || host == "local" {
		return fmt.Errorf("host %q names the machine itself, the local network or a metadata service, which a bottle is never granted", host)
	}
	if r.Port != 0 && (r.Port < 1 || r.Port > 65535) {
		return fmt.Errorf("port must be between 1 and 65535")
	}
	for i, p := range r.PathPrefixes {
		if why := schemas.CheckPathEntry(p); why != "" {
			return fmt.Errorf("path_prefixes[%d] %s", i, why)
		}
	}
	for i, m := range r.Methods {
		if !slices.Contains(schemas.Methods, m) {
			return fmt.Errorf("methods[%d] %q is not one of %s", i, m, strings.Join(schemas.Methods, ", "))
		}
	}
	return nil
}

// Delta is the exact change a request makes to a routes table.
type Delta struct {
	Host         string   `json:"host"`
	Port         int      `json:"port,omitempty"`
	NewHost      bool     `json:"new_host"`
	AddedPaths   []string `json:"added_paths,omitempty"`
	AllPaths     bool     `json:"all_paths,omitempty"` // the route's path allowlist is lifted
	AddedMethods []string `json:"added_methods,omitempty"`
	AllMethods   bool     `json:"all_methods,omitempty"` // the route's method list is lifted
	// Route is the route as it will be after the change.
	Route schemas.RouteRule `json:"route"`
}

// Empty reports whether the delta changes nothing: the request is already
// allowed by the table.
func (d Delta) Empty() bool {
	return !d.NewHost && len(d.AddedPaths) == 0 && !d.AllPaths && len(d.AddedMethods) == 0 && !d.AllMethods
}

// String describes the delta in one line for a person.
func (d Delta) String() string {
	if d.Empty() {
		return "no change: already allowed"
	}
	host := d.Host
	if d.Port != 0 {
		host = fmt.Sprintf("%s:%d", d.Host, d.Port)
	}
	var parts []string
	if d.NewHost {
		parts = append(parts, "new host "+host)
	} else {
		parts = append(parts, "widen "+host)
	}
	switch {
	case d.AllPaths:
		parts = append(parts, "all paths")
	case len(d.AddedPaths) > 0:
		parts = append(parts, "paths +"+strings.Join(d.AddedPaths, " +"))
	}
	switch {
	case d.AllMethods:
		parts = append(parts, "all methods")
	case len(d.AddedMethods) > 0:
		parts = append(parts, "methods +"+strings.Join(d.AddedMethods, " +"))
	}
	return strings.Join(parts, "; ")
}

// ApplyRequest computes the delta of r against table and the table after
// it. Credentials are never added or changed: an existing route keeps its
// auth, a new route has none. An empty path or method list in the request
// means all paths or all methods. A tls_passthrough route already admits
// everything on its host.
func ApplyRequest(table *schemas.RoutesFile, r RouteRequest) (Delta, *schemas.RoutesFile, error) {
	if err := CheckRequest(r); err != nil {
		return Delta{}, nil, err
	}
	host := schemas.NormalizeHost(r.Host)
	next := cloneTable(table)
	d := Delta{Host: host, Port: r.Port}
	for i := range next.Routes {
		rule := &next.Routes[i]
		if rule.Host != host || rule.Port != r.Port {
			continue
		}
		if !rule.TLSPassthrough {
			rule.PathAllowlist, d.AddedPaths, d.AllPaths = widen(rule.PathAllowlist, r.PathPrefixes, pathCovered)
			rule.Methods, d.AddedMethods, d.AllMethods = widen(rule.Methods, r.Methods, slices.Contains[[]string])
		}
		d.Route = *rule
		return d, next, nil
	}
	rule := schemas.RouteRule{Host: host, Port: r.Port, PathAllowlist: slices.Clone(r.PathPrefixes), Methods: slices.Clone(r.Methods)}
	next.Routes = append(next.Routes, rule)
	d.NewHost, d.AddedPaths, d.AddedMethods, d.Route = true, rule.PathAllowlist, rule.Methods, rule
	return d, next, nil
}

// widen merges want into have, where an empty list means "everything". It
// returns the new list, what was added, and whether the list was lifted.
func widen(have, want []string, covered func([]string, string) bool) (out, added []string, lifted bool) {
	if len(have) == 0 { // already everything
		return have, nil, false
	}
	if len(want) == 0 {
		return nil, nil, true
	}
	out = slices.Clone(have)
	for _, w := range want {
		if !covered(out, w) {
			out = append(out, w)
			added = append(added, w)
		}
	}
	return out, added, false
}

// pathCovered reports whether prefix p is already admitted by one of the
// allowlist entries, segment-aware: /a/ covers /a/b, /a covers /a/b and /a,
// neither covers /ab.
func pathCovered(list []string, p string) bool {
	for _, have := range list {
		if PathHasPrefix(p, have) {
			return true
		}
	}
	return false
}

// PathHasPrefix reports whether path p lies under prefix, segment-aware.
func PathHasPrefix(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

func cloneTable(t *schemas.RoutesFile) *schemas.RoutesFile {
	out := &schemas.RoutesFile{Version: schemas.RoutesVersion}
	if t == nil {
		return out
	}
	out.Version = t.Version
	for _, r := range t.Routes {
		c := r
		c.PathAllowlist = slices.Clone(r.PathAllowlist)
		c.Methods = slices.Clone(r.Methods)
		if r.Auth != nil {
			a := *r.Auth
			c.Auth = &a
		}
		out.Routes = append(out.Routes, c)
	}
	return out
}
