package schemas

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Compiled on first use: a bounded repetition compiles into that many
// copies, and every bot-bottle process (each bottle's init among them)
// paid for them at start.
var (
	bottleNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`) })
	envNameRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostRefRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`) })
)

// IsHostRef reports whether s can name the host environment variable that
// holds a credential (token_ref, auth_token): upper-case letters, digits and
// _, at most 64 characters. The convention is enforced, not just preferred,
// because a credential pasted where its name belongs would otherwise travel
// on into plans and error messages; real tokens have lower-case letters,
// hyphens or more length, and are refused here without being echoed.
func IsHostRef(s string) bool { return hostRefRe().MatchString(s) }

// CheckBottleName reports why name cannot name a bottle, or "" when it can.
// Bottle names are file names under the bottles folder: lower-case letters,
// digits, dots, hyphens and underscores, never a path.
func CheckBottleName(name string) string {
	switch {
	case name == "":
		return "a bottle name must not be empty"
	case strings.ContainsAny(name, `/\`):
		return "a bottle name is a file name under the bottles folder, not a path"
	case !bottleNameRe().MatchString(name):
		return "a bottle name uses lower-case letters, digits, '.', '-' and '_' (at most 63), and starts with a letter or digit"
	}
	return ""
}

// IsEnvName reports whether s is a valid environment variable name.
func IsEnvName(s string) bool { return envNameRe.MatchString(s) }

// ReservedEnv reports whether the agent environment variable name is set by
// bot-bottle itself (proxy, CA, bottle identity, token slots, provider
// placeholders) and so may not be set by a manifest's env.
func ReservedEnv(name string) bool {
	switch strings.ToUpper(name) {
	case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE",
		"CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "CODEX_CA_CERTIFICATE",
		"CLAUDE_CODE_OAUTH_TOKEN":
		return true
	}
	u := strings.ToUpper(name)
	return strings.HasPrefix(u, "BOT_BOTTLE_") || strings.HasPrefix(u, "EGRESS_TOKEN_")
}

// SplitPathEntry splits a path_allowlist entry into the methods it names
// and its path prefix: "/p" names none (the route's methods apply there),
// "GET /p" or "GET,HEAD /p" only those. A read-only corner of an API (a
// usage counter beside a credit that a POST spends) needs no route of its
// own.
func SplitPathEntry(e string) (methods []string, prefix string) {
	m, p, ok := strings.Cut(e, " ")
	if !ok || strings.HasPrefix(e, "/") {
		return nil, e
	}
	return strings.Split(m, ","), p
}

// CheckPathEntry reports why e is not a usable path_allowlist entry
// ("/prefix" or "METHOD[,METHOD] /prefix"), or "" when it is.
func CheckPathEntry(e string) string {
	methods, p := SplitPathEntry(e)
	for _, m := range methods {
		if !slices.Contains(Methods, m) {
			return fmt.Sprintf("names %q, which is not an HTTP method a route can allow (%s): write /path or METHOD[,METHOD] /path",
				m, strings.Join(Methods, ", "))
		}
	}
	return CheckPathPrefix(p)
}

// CheckPathPrefix reports why p is not a usable path prefix, or ""
// when it is. Prefixes are written in their normalised, decoded form, since
// the proxy refuses requests whose path is not already normalised.
func CheckPathPrefix(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case !strings.HasPrefix(p, "/"):
		return "must start with /"
	case strings.ContainsAny(p, "?#"):
		return "must be a path without a query or fragment"
	case strings.Contains(p, "%"):
		return "must be written decoded, without %-escapes"
	case strings.Contains(p, `\`):
		return "must not contain a backslash"
	case strings.Contains(p, "//"):
		return "must not contain an empty segment (//)"
	}
	for _, r := range p {
		if r < 0x21 || r == 0x7f || unicode.IsSpace(r) || invisible(r) {
			// Paths reach the operator's screen: nothing in one may hide,
			// reorder or forge what is shown (see AgentText).
			return "must not contain white space, control, format or bidi characters"
		}
	}
	if !utf8.ValidString(p) {
		return "must be valid UTF-8"
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return "must not contain . or .. segments"
		}
	}
	return ""
}

// Validate checks the rules that one manifest file must satisfy on its own,
// before any extends are resolved. Rules that need the whole chain (which
// template is in force, for instance) are checked by the planner.
func (m *Manifest) Validate() Errors {
	var errs Errors
	add := func(at Location, key, msg, hint string) {
		errs = append(errs, &Error{At: at, Key: key, Msg: msg, Hint: hint})
	}
	for i, name := range m.Extends {
		if why := CheckBottleName(name); why != "" {
			add(itemAt(m.ExtendsAt, i, m.KeyAt["extends"]), fmt.Sprintf("extends[%d]", i), why, "")
		}
	}
	if p := m.AgentProvider; p != nil {
		if p.Template != "" && !slices.Contains(Templates, p.Template) {
			add(p.KeyAt["template"], "agent_provider.template", fmt.Sprintf("unknown template %q", p.Template),
				oneOf(p.Template, Templates))
		}
		if _, set := p.KeyAt["auth_token"]; set && !IsHostRef(p.AuthToken) {
			add(p.KeyAt["auth_token"], "agent_provider.auth_token",
				"must name the host environment variable (upper-case letters, digits and _) that holds the token, not the token itself", "e.g. auth_token: BOT_BOTTLE_CLAUDE_OAUTH_TOKEN")
		}
		if _, set := p.KeyAt["api_key"]; set && !IsHostRef(p.APIKey) {
			add(p.KeyAt["api_key"], "agent_provider.api_key",
				"must name the host environment variable (upper-case letters, digits and _) that holds the key, not the key itself", "e.g. api_key: OPENAI_API_KEY")
		}
		if _, set := p.KeyAt["command"]; set && len(p.Command) == 0 {
			add(p.KeyAt["command"], "agent_provider.command", "must not be empty", "remove it to use the template's default command")
		}
	}
	for _, name := range sortedKeys(m.Env) {
		at := m.EnvAt[name]
		switch {
		case !IsEnvName(name):
			add(at, "env."+name, "is not a valid environment variable name", "use letters, digits and _")
		case ReservedEnv(name):
			add(at, "env."+name, "is set by bot-bottle and cannot be overridden by a manifest", "")
		}
	}
	if m.Egress != nil {
		errs = append(errs, m.Egress.validate()...)
	}
	if m.Workdir != nil {
		errs = append(errs, m.Workdir.validate()...)
	}
	errs = append(errs, m.validateHide()...)
	if _, ok := m.KeyAt["dlp"]; ok {
		errs = append(errs, m.DLP.validate("dlp", m.KeyAt["dlp"])...)
	}
	errs = append(errs, m.validateRuntime()...)
	if m.GitGate != nil {
		errs = append(errs, m.GitGate.validate()...)
	} else if at, ok := m.KeyAt["git-gate"]; ok {
		errs = append(errs, &Error{At: at, Key: "git-gate", Msg: "is empty", Hint: "give it repos, or remove it"})
	}
	return errs
}

func (e *Egress) validate() Errors {
	var errs Errors
	first := map[string]Location{}
	for i := range e.Routes {
		r := &e.Routes[i]
		key := fmt.Sprintf("egress.routes[%d]", i)
		errs = append(errs, r.validate(key)...)
		_, hasAuth := r.KeyAt["auth"]
		errs = append(errs, r.validateWebSocket(key, hasAuth)...)
		if r.Host == "" {
			continue
		}
		k := r.RouteKey()
		if at, dup := first[k]; dup {
			errs = append(errs, &Error{At: r.KeyAt["host"], Key: key + ".host",
				Msg: fmt.Sprintf("a route for %s is already defined at line %d", k, at.Line), Hint: "merge the two routes"})
			continue
		}
		first[k] = r.KeyAt["host"]
	}
	return errs
}

// validate checks one route. key is its path, e.g. egress.routes[2].
func (r *Route) validate(key string) Errors {
	var errs Errors
	add := func(field, msg, hint string) {
		at, ok := r.KeyAt[field]
		if !ok {
			at = r.At
		}
		k := key
		if field != "" {
			k += "." + field
		}
		errs = append(errs, &Error{At: at, Key: k, Msg: msg, Hint: hint})
	}
	if _, ok := r.KeyAt["host"]; !ok {
		add("", "a route needs a host", "add host: api.example.com")
	} else if why := CheckHostName(r.Host); why != "" {
		add("host", why, "")
	}
	if _, ok := r.KeyAt["port"]; ok && (r.Port < 1 || r.Port > 65535) {
		add("port", "must be between 1 and 65535", "")
	}
	for i, p := range r.PathAllowlist {
		if why := CheckPathEntry(p); why != "" {
			errs = append(errs, &Error{At: itemAt(r.PathAllowlistAt, i, r.KeyAt["path_allowlist"]),
				Key: fmt.Sprintf("%s.path_allowlist[%d]", key, i), Msg: why})
		}
	}
	for i, meth := range r.Methods {
		if !slices.Contains(Methods, meth) {
			errs = append(errs, &Error{At: itemAt(r.MethodsAt, i, r.KeyAt["methods"]), Key: fmt.Sprintf("%s.methods[%d]", key, i),
				Msg: fmt.Sprintf("%q is not an HTTP method a route can allow", meth), Hint: oneOf(meth, Methods)})
		}
	}
	for i, p := range r.PathAllowlist {
		ms, _ := SplitPathEntry(p)
		for _, m := range ms {
			if len(r.Methods) > 0 && slices.Contains(Methods, m) && !slices.Contains(r.Methods, m) {
				errs = append(errs, &Error{At: itemAt(r.PathAllowlistAt, i, r.KeyAt["path_allowlist"]),
					Key:  fmt.Sprintf("%s.path_allowlist[%d]", key, i),
					Msg:  fmt.Sprintf("names %s, which the route's methods do not allow (an entry narrows its route, never widens it)", m),
					Hint: "add " + m + " to methods, or drop it from this entry"})
			}
		}
	}
	if _, ok := r.KeyAt["auth"]; ok {
		errs = append(errs, r.Auth.validate(key+".auth", r.KeyAt["auth"])...)
	}
	if _, ok := r.KeyAt["dlp"]; ok {
		errs = append(errs, r.DLP.validate(key+".dlp", r.KeyAt["dlp"])...)
	}
	if r.TLSPassthrough {
		for _, f := range []string{"path_allowlist", "methods", "auth", "dlp"} {
			if _, ok := r.KeyAt[f]; ok {
				add(f, "cannot be combined with tls_passthrough: a passthrough tunnel is never decrypted, so paths, methods and credentials cannot apply",
					"remove "+f+" or tls_passthrough")
			}
		}
	}
	return errs
}

// validateWebSocket checks websocket: true against the route's other keys:
// a passthrough tunnel is never decrypted, so its frames could not be
// checked; a route without a credential relays WebSocket anyway, so the key
// would say nothing. hasAuth reports whether the route has an auth block.
func (r *Route) validateWebSocket(key string, hasAuth bool) Errors {
	if !r.WebSocket {
		return nil
	}
	at := r.KeyAt["websocket"]
	switch {
	case r.TLSPassthrough:
		return Errors{{At: at, Key: key + ".websocket",
			Msg:  "cannot be combined with tls_passthrough: a passthrough tunnel is never decrypted, so its frames cannot be checked",
			Hint: "remove websocket or tls_passthrough"}}
	case !hasAuth:
		return Errors{{At: at, Key: key + ".websocket",
			Msg:  "applies only to a route with auth: routes without a credential relay WebSocket upgrades already",
			Hint: "remove websocket"}}
	}
	return nil
}

// validate checks an auth block that is present in the file (a is nil when it
// was written as `auth:` with no value).
func (a *Auth) validate(key string, at Location) Errors {
	if a == nil || (a.Scheme == "" && a.TokenRef == "" && len(a.KeyAt) == 0) {
		return Errors{{At: at, Key: key, Msg: "is empty: an auth block needs scheme and token_ref",
			Hint: "remove auth for an unauthenticated route"}}
	}
	var errs Errors
	if _, ok := a.KeyAt["scheme"]; !ok {
		errs = append(errs, &Error{At: a.At, Key: key + ".scheme", Msg: "is missing: an auth block needs scheme and token_ref",
			Hint: "one of " + strings.Join(Schemes, ", ")})
	} else if !slices.Contains(Schemes, a.Scheme) {
		errs = append(errs, &Error{At: a.KeyAt["scheme"], Key: key + ".scheme", Msg: "is not a supported scheme",
			Hint: oneOf(strings.TrimSpace(a.Scheme), Schemes)})
	}
	if _, ok := a.KeyAt["token_ref"]; !ok {
		errs = append(errs, &Error{At: a.At, Key: key + ".token_ref", Msg: "is missing: an auth block needs scheme and token_ref",
			Hint: "name the host environment variable that holds the token"})
	} else if !IsHostRef(a.TokenRef) {
		errs = append(errs, &Error{At: a.KeyAt["token_ref"], Key: key + ".token_ref",
			Msg:  "must name the host environment variable (upper-case letters, digits and _) that holds the token, not the token itself",
			Hint: "e.g. token_ref: GITHUB_TOKEN"})
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// itemAt returns the position of item i, or fallback when it is unknown.
func itemAt(at []Location, i int, fallback Location) Location {
	if i < len(at) {
		return at[i]
	}
	return fallback
}

// oneOf hints at the valid values, leading with the closest one when got is
// a near miss (a different case, a typo). got is compared, never echoed.
func oneOf(got string, valid []string) string {
	list := "one of " + strings.Join(valid, ", ")
	for _, v := range valid {
		if strings.EqualFold(v, got) {
			return fmt.Sprintf("did you mean %q? %s", v, list)
		}
	}
	for _, v := range valid {
		if len(got) > 2 && editDistance(strings.ToLower(got), strings.ToLower(v)) <= max(1, len(got)/4) {
			return fmt.Sprintf("did you mean %q? %s", v, list)
		}
	}
	return list
}
