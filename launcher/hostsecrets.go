package launcher

import (
	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// hostSecrets picks, from the host environment the launcher was given,
// the secret-looking values the bottle was not given (see dlp.HostSecrets),
// for its proxy's DLP. They are handled like token values: in memory only,
// never in the plan, the routes file, an event or a log.
func hostSecrets(plan *schemas.Plan, tokens map[string]schemas.Secret, env map[string]string) ([]schemas.Secret, error) {
	var given []string
	for _, t := range tokens {
		given = append(given, t.Reveal())
	}
	for _, e := range plan.Env {
		given = append(given, e.Value)
	}
	vals, err := dlp.HostSecrets(env, given)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.Secret, len(vals))
	for i, v := range vals {
		out[i] = schemas.NewSecret(v)
	}
	return out, nil
}
