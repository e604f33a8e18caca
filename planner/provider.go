package planner

import (
	"fmt"

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
)

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
		if pf.forward == nil || !*pf.forward {
			out.warn = append(out.warn, "template codex without forward_host_credentials: the agent has no credentials for "+OpenAIHost)
			return out, nil
		}
		creds, err := codexAuth()
		if err != nil {
			at := pf.at["forward_host_credentials"]
			return nil, &schemas.Error{At: at, Key: "agent_provider.forward_host_credentials", Msg: err.Error()}
		}
		out.routes = append(out.routes, auth(OpenAIHost, CodexHostRef), auth(ChatGPTHost, CodexHostRef))
		out.files = append(out.files, schemas.AgentFile{Path: ".codex/auth.json", Mode: 0o600, Content: creds.placeholderAuthJSON()})
	}
	for _, r := range out.routes {
		out.plan.Hosts = append(out.plan.Hosts, r.route.Host)
	}
	return out, nil
}
