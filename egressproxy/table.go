package egressproxy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// table is a routes file compiled for matching. It is immutable once built:
// Reload swaps the whole table through an atomic pointer, so a request sees
// one table from its first check to its last.
type table struct {
	file   *schemas.RoutesFile // normalised copy, served by Routes and /routes
	digest string
	byHost map[string][]*route // normalised host -> its routes (one per port)
}

// route is one compiled RouteRule.
type route struct {
	host        string
	port        int        // 0: the default ports (443 for https and CONNECT, 80 for http)
	paths       []pathRule // none: every path
	methods     methodSet
	passthrough bool
	websocket   bool           // relay WebSocket upgrades although the route injects a credential
	auth        schemas.Secret // the whole Authorization value, e.g. "Bearer t"; zero: none
	authSlot    string
	dlp         string // schemas.DLPBlock, DLPRedact or DLPSupervise
}

// pathRule is one path_allowlist entry: a prefix and the methods it admits
// there (the route's, unless the entry names some).
type pathRule struct {
	prefix  string
	methods methodSet
}

// methodSet is a bit per entry of schemas.Methods.
type methodSet uint16

func (m methodSet) has(method string) bool {
	i := slices.Index(schemas.Methods, method)
	return i >= 0 && m&(1<<i) != 0
}

// allMethods is every method of schemas.Methods: a route that names none.
var allMethods = methodSet(1<<len(schemas.Methods) - 1)

// compileTable checks rf and builds its table. Every route with auth must
// name a slot that tokens fills. Errors name the route by index and host and
// never carry a token value.
func compileTable(rf *schemas.RoutesFile, tokens map[string]schemas.Secret) (*table, error) {
	if rf == nil {
		return nil, errors.New("compile routes: no routes table")
	}
	if rf.Version != 0 && rf.Version != schemas.RoutesVersion {
		return nil, fmt.Errorf("compile routes: unsupported routes version %d (this build reads %d)", rf.Version, schemas.RoutesVersion)
	}
	t := &table{file: &schemas.RoutesFile{Version: schemas.RoutesVersion}, byHost: map[string][]*route{}}
	var errs []error
	for i, rule := range rf.Routes {
		r, err := compileRoute(rule, tokens)
		if err != nil {
			errs = append(errs, fmt.Errorf("routes[%d] (%s): %w", i, rule.Host, err))
			continue
		}
		for _, other := range t.byHost[r.host] {
			if other.port == r.port {
				errs = append(errs, fmt.Errorf("routes[%d] (%s): duplicate route for this host and port", i, rule.Host))
			}
		}
		t.byHost[r.host] = append(t.byHost[r.host], r)
		norm := rule
		norm.Host = r.host
		norm.PathAllowlist = slices.Clone(rule.PathAllowlist)
		norm.Methods = slices.Clone(rule.Methods)
		if rule.Auth != nil {
			a := *rule.Auth
			norm.Auth = &a
		}
		t.file.Routes = append(t.file.Routes, norm)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("compile routes: %w", err)
	}
	t.digest = t.file.Digest()
	return t, nil
}

func compileRoute(rule schemas.RouteRule, tokens map[string]schemas.Secret) (*route, error) {
	if why := schemas.CheckHostName(rule.Host); why != "" {
		return nil, fmt.Errorf("host %s", why)
	}
	if rule.Port < 0 || rule.Port > 65535 {
		return nil, fmt.Errorf("port %d is not between 1 and 65535", rule.Port)
	}
	r := &route{host: schemas.NormalizeHost(rule.Host), port: rule.Port, passthrough: rule.TLSPassthrough}
	if rule.TLSPassthrough && (len(rule.PathAllowlist) > 0 || len(rule.Methods) > 0 || rule.Auth != nil || rule.WebSocket) {
		return nil, errors.New("tls_passthrough cannot be combined with path_allowlist, methods, auth or websocket")
	}
	if rule.WebSocket && rule.Auth == nil {
		return nil, errors.New("websocket applies only to a route with auth (routes without one relay WebSocket anyway)")
	}
	r.websocket = rule.WebSocket
	switch rule.DLP {
	case "":
		r.dlp = schemas.DLPBlock
	case schemas.DLPBlock, schemas.DLPRedact, schemas.DLPSupervise:
		r.dlp = rule.DLP
	default:
		return nil, fmt.Errorf("dlp_on_match %q is not one of %s", rule.DLP, strings.Join(schemas.DLPActions, ", "))
	}
	methods, err := compileMethods(rule.Methods)
	if err != nil {
		return nil, err
	}
	r.methods = methods
	for _, p := range rule.PathAllowlist {
		if why := schemas.CheckPathEntry(p); why != "" {
			return nil, fmt.Errorf("path_allowlist entry %q %s", p, why)
		}
		names, prefix := schemas.SplitPathEntry(p)
		pr := pathRule{prefix: prefix, methods: r.methods}
		if names != nil {
			if pr.methods, err = compileMethods(names); err != nil {
				return nil, fmt.Errorf("path_allowlist entry %q: %w", p, err)
			}
			if pr.methods&^r.methods != 0 {
				return nil, fmt.Errorf("path_allowlist entry %q names a method the route's methods do not allow (an entry narrows its route, never widens it)", p)
			}
		}
		r.paths = append(r.paths, pr)
	}
	if rule.Auth != nil {
		tok, ok := tokens[rule.Auth.Slot]
		if !ok || tok.IsZero() {
			return nil, fmt.Errorf("auth slot %s has no token (set %s in the proxy's environment)", rule.Auth.Slot, rule.Auth.Slot)
		}
		switch rule.Auth.Scheme {
		case schemas.SchemeBearer, schemas.SchemeToken:
			r.auth = schemas.NewSecret(rule.Auth.Scheme + " " + tok.Reveal())
		case schemas.SchemeBasic:
			r.auth = schemas.NewSecret("Basic " + base64.StdEncoding.EncodeToString([]byte(tok.Reveal())))
		default:
			return nil, fmt.Errorf("auth scheme %q is not one of %s", rule.Auth.Scheme, strings.Join(schemas.Schemes, ", "))
		}
		r.authSlot = rule.Auth.Slot
	}
	return r, nil
}

// lookup finds the route for host and port. defaultPort is the port a route
// without one admits for this kind of request: 443 for CONNECT and https, 80
// for plain http. host must already be normalised.
func (t *table) lookup(host string, port, defaultPort int) (*route, Reason) {
	routes, ok := t.byHost[host]
	if !ok {
		return nil, ReasonHostNotAllowed
	}
	for _, r := range routes {
		if r.port == port || (r.port == 0 && port == defaultPort) {
			return r, ReasonAllowed
		}
	}
	return nil, ReasonPortNotAllowed
}

// compileMethods turns method names into a set; none is every method.
func compileMethods(names []string) (methodSet, error) {
	if len(names) == 0 {
		return allMethods, nil
	}
	var set methodSet
	for _, m := range names {
		i := slices.Index(schemas.Methods, m)
		if i < 0 {
			return 0, fmt.Errorf("method %q is not one of %s", m, strings.Join(schemas.Methods, ", "))
		}
		set |= 1 << i
	}
	return set, nil
}

// admits decides a request's method and decoded, normalised path against
// the route. A path falls under an entry segment by segment:
// "/repos/myorg/" admits "/repos/myorg/x" but not "/repos/myorgX";
// "/repos/myorg" admits "/repos/myorg" and "/repos/myorg/x" but not
// "/repos/myorgX". Where several entries cover a path, any of them may
// admit the method. A route without entries admits every path.
func (r *route) admits(method, path string) Reason {
	if !r.methods.has(method) {
		return ReasonMethodNotAllowed
	}
	if len(r.paths) == 0 {
		return ReasonAllowed
	}
	under := false
	for _, p := range r.paths {
		if prefixAdmits(p.prefix, path) {
			if p.methods.has(method) {
				return ReasonAllowed
			}
			under = true
		}
	}
	if under {
		return ReasonMethodNotAllowed
	}
	return ReasonPathNotAllowed
}

func prefixAdmits(prefix, path string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	if strings.HasSuffix(prefix, "/") || len(path) == len(prefix) {
		return true
	}
	return path[len(prefix)] == '/'
}
