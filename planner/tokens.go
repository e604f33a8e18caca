package planner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Tokens resolves the value of every token slot of plan from the host
// environment env (and, for Codex, from the host's auth.json). It is the one
// place a credential value is read; an unset or empty variable is an error
// that names the variable and the hosts that need it, never a value. Every
// problem is reported at once, so a person sets all the variables in one go.
func (p *Planner) Tokens(plan *schemas.Plan, env map[string]string) (map[string]schemas.Secret, error) {
	out := make(map[string]schemas.Secret, len(plan.Slots))
	var codex *codexCredentials
	var errs []error
	for _, s := range plan.Slots {
		hosts := strings.Join(s.Hosts, ", ")
		if s.TokenRef == CodexHostRef {
			if codex == nil {
				c, err := readCodexAuth(p.CodexAuthFile)
				if err != nil {
					errs = append(errs, fmt.Errorf("token for %s (%s): %w", s.Slot, hosts, err))
					continue
				}
				codex = c
			}
			out[s.Slot] = schemas.NewSecret(codex.accessToken)
			continue
		}
		v, ok := env[s.TokenRef]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("host variable %s is not set; it holds the token for %s (slot %s)", s.TokenRef, hosts, s.Slot))
		case strings.TrimSpace(v) == "":
			errs = append(errs, fmt.Errorf("host variable %s is empty; it holds the token for %s (slot %s)", s.TokenRef, hosts, s.Slot))
		case strings.ContainsAny(v, "\r\n"):
			errs = append(errs, fmt.Errorf("host variable %s holds a line break; a token must be one line (slot %s)", s.TokenRef, s.Slot))
		default:
			out[s.Slot] = schemas.NewSecret(v)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
