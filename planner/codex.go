package planner

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxCodexAuthSize bounds ~/.codex/auth.json; real ones are a few KiB.
const maxCodexAuthSize = 1 << 20

// codexAuthFile is the shape of ~/.codex/auth.json as the Codex CLI writes it
// after a ChatGPT login.
type codexAuthFile struct {
	APIKey *string `json:"OPENAI_API_KEY"`
	Tokens *struct {
		IDToken      string `json:"id_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		AccountID    string `json:"account_id"`
	} `json:"tokens"`
	LastRefresh string `json:"last_refresh"`
}

// codexCredentials is what the planner keeps from auth.json: the access
// token for the proxy (never for the plan) and the non-secret facts the
// agent's placeholder auth.json repeats so Codex neither refreshes nor
// re-logs in.
type codexCredentials struct {
	accessToken string
	accountID   string
	planType    string
	expiry      int64 // the access token's exp claim, 0 if unknown
	lastRefresh string
}

// readCodexAuth parses auth.json at path. Its errors never quote the file's
// content.
func readCodexAuth(path string) (*codexCredentials, error) {
	if path == "" {
		return nil, errors.New("codex: forward_host_credentials needs ~/.codex/auth.json, but no home directory is known")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("codex: forward_host_credentials needs %s, which does not exist (run `codex login` on the host first)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("codex: read %s: %w", path, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxCodexAuthSize+1))
	if err != nil {
		return nil, fmt.Errorf("codex: read %s: %w", path, err)
	}
	if len(buf) > maxCodexAuthSize {
		return nil, fmt.Errorf("codex: %s is larger than %d bytes; it is not a Codex auth file", path, maxCodexAuthSize)
	}
	var a codexAuthFile
	if err := json.Unmarshal(buf, &a); err != nil {
		return nil, fmt.Errorf("codex: %s is not valid JSON (%s); run `codex login` to rewrite it", path, jsonErrorKind(err))
	}
	if a.Tokens == nil || a.Tokens.AccessToken == "" {
		if a.APIKey != nil && *a.APIKey != "" {
			return nil, fmt.Errorf("codex: %s holds only an API key; forward_host_credentials forwards a ChatGPT login (run `codex login` and choose ChatGPT, or set agent_provider.api_key to the host variable holding the key instead of forward_host_credentials)", path)
		}
		return nil, fmt.Errorf("codex: %s has no tokens.access_token; run `codex login` on the host", path)
	}
	c := &codexCredentials{accessToken: a.Tokens.AccessToken, accountID: a.Tokens.AccountID, lastRefresh: a.LastRefresh}
	if claims := jwtClaims(a.Tokens.AccessToken); claims != nil {
		if exp, ok := claims["exp"].(float64); ok {
			c.expiry = int64(exp)
		}
	}
	if claims := jwtClaims(a.Tokens.IDToken); claims != nil {
		if auth, ok := claims["https://api.openai.com/auth"].(map[string]any); ok {
			if c.accountID == "" {
				c.accountID, _ = auth["chatgpt_account_id"].(string)
			}
			c.planType, _ = auth["chatgpt_plan_type"].(string)
		}
	}
	return c, nil
}

// jsonErrorKind describes a JSON error without echoing any of the input.
func jsonErrorKind(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type", te.Field)
	}
	return "unreadable"
}

// jwtClaims decodes a JWT's payload without verifying it (nil if it is not
// a JWT). Only non-secret claims are read from it.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return nil
	}
	return claims
}

// placeholderJWT builds an unsigned JWT carrying only the given claims, so
// the agent's Codex can read its account and expiry from a token that is
// worthless outside the bottle.
func placeholderJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	body, _ := json.Marshal(claims)
	return enc.EncodeToString(head) + "." + enc.EncodeToString(body) + "." + enc.EncodeToString([]byte("bot-bottle-placeholder"))
}

// placeholderAPIKeyAuthJSON is the agent's auth.json for api_key: a
// placeholder key, which the proxy replaces on api.openai.com.
func placeholderAPIKeyAuthJSON() string {
	b, _ := json.MarshalIndent(map[string]any{"OPENAI_API_KEY": OpenAIKeyPlaceholder}, "", "  ")
	return string(b) + "\n"
}

// placeholderAuthJSON is the agent's auth.json: the real account id and
// expiry, placeholder tokens. The proxy replaces the bearer token upstream.
func (c *codexCredentials) placeholderAuthJSON() string {
	auth := map[string]any{"chatgpt_account_id": c.accountID}
	if c.planType != "" {
		auth["chatgpt_plan_type"] = c.planType
	}
	claims := map[string]any{"https://api.openai.com/auth": auth}
	if c.expiry != 0 {
		claims["exp"] = c.expiry
	}
	doc := map[string]any{
		"OPENAI_API_KEY": nil,
		"tokens": map[string]any{
			"id_token":      placeholderJWT(claims),
			"access_token":  placeholderJWT(claims),
			"refresh_token": "bot-bottle-placeholder-refresh-token",
			"account_id":    c.accountID,
		},
		"last_refresh": c.lastRefresh,
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b) + "\n"
}
