package review

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// CheckDecision validates a decision on its own: its action and scope, and
// for modify the operator's route, by the rules of a manifest route. Auth
// may appear only in a modify with scope persist, and only as a host
// variable name.
func CheckDecision(d schemas.Decision) error {
	if d.ProposalID == "" || d.Bottle == "" {
		return errors.New("a decision names its proposal and bottle")
	}
	if !slices.Contains([]string{schemas.DecidedByMCP, schemas.DecidedByCLI, schemas.DecidedByWeb}, d.DecidedBy) {
		return fmt.Errorf("decided_by must be mcp, cli or web")
	}
	if len(d.Reason) > 2000 {
		return errors.New("reason is longer than 2000 characters")
	}
	if err := checkDecisionFor(d); err != nil {
		return err
	}
	switch d.Action {
	case schemas.ActionDeny:
		if d.Route != nil {
			return errors.New("deny takes no route")
		}
		return nil
	case schemas.ActionApprove:
		if d.Route != nil {
			return errors.New("approve takes no route; use modify to change the proposed route")
		}
	case schemas.ActionModify:
		if d.Route == nil {
			return errors.New("modify needs the operator's route")
		}
		if err := checkOperatorRoute(*d.Route); err != nil {
			return fmt.Errorf("route: %w", err)
		}
		if d.Route.Auth != nil && d.Scope != schemas.ScopePersist {
			return errors.New("a route with auth needs scope persist: credentials change only through the manifest")
		}
	default:
		return fmt.Errorf("action must be approve, modify or deny")
	}
	if d.Scope != schemas.ScopeOnce && d.Scope != schemas.ScopePersist {
		return fmt.Errorf("scope must be once or persist")
	}
	return nil
}

func checkOperatorRoute(r schemas.Route) error {
	if why := schemas.CheckHostName(strings.TrimSpace(r.Host)); why != "" {
		return fmt.Errorf("host %s", why)
	}
	if r.Port < 0 || r.Port > 65535 {
		return errors.New("port must be between 1 and 65535")
	}
	for i, p := range r.PathAllowlist {
		if why := schemas.CheckPathEntry(p); why != "" {
			return fmt.Errorf("path_allowlist[%d] %s", i, why)
		}
	}
	for i, m := range r.Methods {
		if !slices.Contains(schemas.Methods, m) {
			return fmt.Errorf("methods[%d] is not one of %s", i, strings.Join(schemas.Methods, ", "))
		}
	}
	if a := r.Auth; a != nil {
		if !slices.Contains(schemas.Schemes, a.Scheme) {
			return fmt.Errorf("auth.scheme must be one of %s", strings.Join(schemas.Schemes, ", "))
		}
		if !schemas.IsHostRef(a.TokenRef) {
			return errors.New("auth.token_ref must name a host environment variable (upper-case letters, digits and _), never a value")
		}
	}
	if r.TLSPassthrough && (len(r.PathAllowlist) > 0 || len(r.Methods) > 0 || r.Auth != nil || r.WebSocket) {
		return errors.New("tls_passthrough excludes path_allowlist, methods, auth and websocket")
	}
	return nil
}
