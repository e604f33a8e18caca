package planner

import (
	"fmt"
	"slices"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Provider hosts, placeholders and host references.
const (
	AnthropicHost = "api.anthropic.com"
	OpenAIHost    = "api.openai.com"
	ChatGPTHost   = "chatgpt.com"

	// CodexHostRef is the host reference that stands for the access token
	// read from ~/.codex/auth.json; it is not a real environment variable.
	CodexHostRef = "BOT_BOTTLE_CODEX_HOST_ACCESS_TOKEN"

	// ClaudeTokenPlaceholder is what the agent sees in CLAUDE_CODE_OAUTH_TOKEN:
	// shaped like an OAuth token so Claude Code accepts it, worthless
	// anywhere but behind the bottle's proxy, which replaces it.
	ClaudeTokenPlaceholder = "sk-ant-oat01-bot-bottle-placeholder-the-proxy-injects-the-real-token"

	// OpenAIKeyPlaceholder is the API key in the agent's auth.json for
	// api_key: shaped like a key so Codex uses it, replaced by the proxy.
	OpenAIKeyPlaceholder = "sk-bot-bottle-placeholder-the-proxy-injects-the-real-key"
)

// ChatGPTCodexPaths are the only chatgpt.com paths a forwarded ChatGPT
// login reaches: what Codex calls for a turn, verified with the real CLI
// (realcli_test.go at the repository root): its backend under
// /backend-api/codex/ (the responses WebSocket and its HTTPS fallback, the
// model list), the account check its workspace routing reads before the
// first turn, the user settings it reads on every run, and, read only,
// the usage and the rate-limit resets its terminal UI shows (denied, they
// would only be noise on the review desk). Everything else on chatgpt.com
// (the user's connectors, conversations, cloud tasks, spending a
// rate-limit reset) would act as the user, and stays denied.
var ChatGPTCodexPaths = []string{"/backend-api/codex/", "/backend-api/wham/accounts/check", "/backend-api/wham/settings/user",
	"GET /backend-api/wham/usage", "GET /backend-api/wham/rate-limit-reset-credits"}

// providerPlan is what a template adds to a bottle.
type providerPlan struct {
	plan   *schemas.ProviderPlan
	routes []sourcedRoute
	env    []schemas.EnvVar
	files  []schemas.AgentFile
	warn   []string
}

// checkProvider applies the rules that need the whole chain: which fields go
// with which template.
func checkProvider(pf providerFields) schemas.Errors {
	var errs schemas.Errors
	tmpl := pf.template
	tmplAt := pf.at["template"]
	inForce := fmt.Sprintf("the template in force is %q", tmpl)
	if tmpl == "" {
		inForce = "no template is set"
	} else if tmplAt.Line > 0 {
		inForce += " (set at " + tmplAt.String() + ")"
	}
	if at, ok := pf.at["auth_token"]; ok && pf.authToken != "" && tmpl != schemas.TemplateClaude {
		errs = append(errs, &schemas.Error{At: at, Key: "agent_provider.auth_token",
			Msg: "is for template claude, but " + inForce, Hint: "set template: claude or remove auth_token"})
	}
	if at, ok := pf.at["forward_host_credentials"]; ok && pf.forward != nil && *pf.forward && tmpl != schemas.TemplateCodex {
		errs = append(errs, &schemas.Error{At: at, Key: "agent_provider.forward_host_credentials",
			Msg: "is for template codex, but " + inForce, Hint: "set template: codex or remove forward_host_credentials"})
	}
	if at, ok := pf.at["api_key"]; ok && pf.apiKey != "" {
		switch {
		case tmpl != schemas.TemplateCodex:
			errs = append(errs, &schemas.Error{At: at, Key: "agent_provider.api_key",
				Msg: "is for template codex, but " + inForce, Hint: "set template: codex or remove api_key"})
		case pf.forward != nil && *pf.forward:
			errs = append(errs, &schemas.Error{At: at, Key: "agent_provider.api_key",
				Msg:  "and forward_host_credentials are both set (at " + pf.at["forward_host_credentials"].String() + "); Codex uses one login",
				Hint: "keep api_key for an OpenAI API key, or forward_host_credentials for your ChatGPT login"})
		}
	}
	if tmpl == "" {
		for _, field := range []string{"image", "command"} {
			if at, ok := pf.at[field]; ok {
				errs = append(errs, &schemas.Error{At: at, Key: "agent_provider." + field,
					Msg: "needs a template", Hint: "add template: command, claude or codex"})
			}
		}
	}
	return errs
}

// planProvider builds the provider's routes, env and files. codexAuth is
// consulted only for template codex with forward_host_credentials.
func planProvider(pf providerFields, codexAuth func() (*codexCredentials, error)) (*providerPlan, error) {
	if pf.template == "" {
		return &providerPlan{}, nil
	}
	out := &providerPlan{plan: &schemas.ProviderPlan{Template: pf.template, Image: pf.image, Command: pf.command}}
	out.files, out.env = agentSetup(pf.template)
	origin := "provider:" + pf.template
	auth := func(host, ref string) sourcedRoute {
		return sourcedRoute{origin: origin, route: schemas.Route{Host: host,
			Auth: &schemas.Auth{Scheme: schemas.SchemeBearer, TokenRef: ref}}}
	}
	switch pf.template {
	case schemas.TemplateClaude:
		if len(out.plan.Command) == 0 {
			out.plan.Command = []string{"claude"}
		}
		if pf.authToken == "" {
			out.warn = append(out.warn, "template claude without auth_token: the agent has no credentials for "+AnthropicHost+
				" (set agent_provider.auth_token to the host variable holding your Claude OAuth token)")
			return out, nil
		}
		out.routes = append(out.routes, auth(AnthropicHost, pf.authToken))
		out.env = append(out.env, schemas.EnvVar{Name: "CLAUDE_CODE_OAUTH_TOKEN", Value: ClaudeTokenPlaceholder, Source: schemas.EnvFromProvider})
	case schemas.TemplateCodex:
		if len(out.plan.Command) == 0 {
			out.plan.Command = []string{"codex"}
		}
		if pf.apiKey != "" {
			// An API key authenticates api.openai.com alone; Codex finds a
			// placeholder key in auth.json and so runs logged in.
			openai := auth(OpenAIHost, pf.apiKey)
			openai.route.WebSocket = true // Codex's Responses WebSocket
			out.routes = append(out.routes, openai)
			out.files = append(out.files, schemas.AgentFile{Path: ".codex/auth.json", Mode: 0o600, Content: placeholderAPIKeyAuthJSON()})
			break
		}
		if pf.forward == nil || !*pf.forward {
			out.warn = append(out.warn, "template codex without forward_host_credentials or api_key: the agent has no credentials for "+OpenAIHost)
			return out, nil
		}
		creds, err := codexAuth()
		if err != nil {
			at := pf.at["forward_host_credentials"]
			return nil, &schemas.Error{At: at, Key: "agent_provider.forward_host_credentials", Msg: err.Error()}
		}
		// Codex runs its turns over the Responses WebSocket
		// (/backend-api/codex/responses with a ChatGPT login).
		openai := auth(OpenAIHost, CodexHostRef)
		openai.route.WebSocket = true
		chatgpt := auth(ChatGPTHost, CodexHostRef)
		chatgpt.route.PathAllowlist = slices.Clone(ChatGPTCodexPaths)
		chatgpt.route.Methods = []string{"GET", "POST"}
		chatgpt.route.WebSocket = true
		out.routes = append(out.routes, openai, chatgpt)
		out.files = append(out.files, schemas.AgentFile{Path: ".codex/auth.json", Mode: 0o600, Content: creds.placeholderAuthJSON()})
	}
	for _, r := range out.routes {
		out.plan.Hosts = append(out.plan.Hosts, r.route.Host)
	}
	return out, nil
}
