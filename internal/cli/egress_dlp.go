package cli

import (
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// dlpSecretPrefix names the sidecar's environment variables that carry
// host secrets for its DLP: EGRESS_DLP_SECRET_0, _1, ... (any suffix).
// Like the token slots they are values, never names: whoever starts the
// sidecar decides which host values the bottle must not send.
const dlpSecretPrefix = "EGRESS_DLP_SECRET_"

// dlpSecretsFromEnv collects the sidecar's host secrets from its
// environment.
func dlpSecretsFromEnv(env map[string]string) []schemas.Secret {
	var out []schemas.Secret
	for k, v := range env {
		if strings.HasPrefix(k, dlpSecretPrefix) && strings.TrimSpace(v) != "" {
			out = append(out, schemas.NewSecret(v))
		}
	}
	return out
}
