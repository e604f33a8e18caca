package planner

import (
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Placeholders in the values of launch variables, filled by LaunchValues.
const (
	PlaceholderProxyURL = "<proxy-url>"
	PlaceholderCAFile   = "<ca-file>"
	PlaceholderBottleID = "<bottle-id>"
	PlaceholderMCPURL   = "<mcp-url>"
	// PlaceholderWorkdir appears only in agent files (the workdir the agent
	// CLI trusts); it is filled JSON-escaped.
	PlaceholderWorkdir = "<workdir>"
	// PlaceholderGitGateURL is the bottle's git gate (the agent's git
	// config rewrites its repos' URLs to it).
	PlaceholderGitGateURL = "<git-gate-url>"
)

// launchEnv is what every bottle's agent gets from the launcher: the proxy,
// the bottle's CA for every TLS stack that has its own variable, and the
// bottle's identity and agent surface.
var launchEnv = []schemas.EnvVar{
	{Name: "HTTP_PROXY", Value: PlaceholderProxyURL},
	{Name: "HTTPS_PROXY", Value: PlaceholderProxyURL},
	{Name: "http_proxy", Value: PlaceholderProxyURL},
	{Name: "https_proxy", Value: PlaceholderProxyURL},
	{Name: "NO_PROXY", Value: "localhost,127.0.0.1"},
	{Name: "no_proxy", Value: "localhost,127.0.0.1"},
	{Name: "SSL_CERT_FILE", Value: PlaceholderCAFile},
	{Name: "NODE_EXTRA_CA_CERTS", Value: PlaceholderCAFile},
	{Name: "REQUESTS_CA_BUNDLE", Value: PlaceholderCAFile},
	{Name: "CURL_CA_BUNDLE", Value: PlaceholderCAFile},
	{Name: "GIT_SSL_CAINFO", Value: PlaceholderCAFile},
	{Name: "CODEX_CA_CERTIFICATE", Value: PlaceholderCAFile},
	{Name: "BOT_BOTTLE_ID", Value: PlaceholderBottleID},
	{Name: "BOT_BOTTLE_MCP_URL", Value: PlaceholderMCPURL},
}

// LaunchValues fills the launch placeholders of a plan's env.
type LaunchValues struct {
	ProxyURL string // e.g. http://127.0.0.1:3128
	CAFile   string // the bottle CA's certificate, as seen inside the bottle
	BottleID string
	MCPURL   string // e.g. http://127.0.0.1:3129/mcp
	Workdir  string // the agent's working directory, as seen inside the bottle
	// GitGateURL is the git gate's base, e.g. http://127.0.0.1:3130.
	GitGateURL string
}

// AgentEnv returns the agent's complete environment as KEY=VALUE strings: the
// plan's env with launch placeholders filled. Nothing from the host
// environment is passed through.
func AgentEnv(plan *schemas.Plan, v LaunchValues) []string {
	r := strings.NewReplacer(PlaceholderProxyURL, v.ProxyURL, PlaceholderCAFile, v.CAFile,
		PlaceholderBottleID, v.BottleID, PlaceholderMCPURL, v.MCPURL)
	out := make([]string, 0, len(plan.Env))
	for _, e := range plan.Env {
		val := e.Value
		if e.Source == schemas.EnvFromLaunch {
			val = r.Replace(val)
		}
		out = append(out, e.Name+"="+val)
	}
	return out
}

// agentEnv merges the manifest's env, the provider's placeholders and the
// launch variables, sorted by name. A manifest's env is declared non-secret
// (credentials belong in egress auth); names that look otherwise are warned
// about by the planner.
func agentEnv(manifest map[string]string, provider []schemas.EnvVar) []schemas.EnvVar {
	out := make([]schemas.EnvVar, 0, len(manifest)+len(provider)+len(launchEnv))
	for _, name := range sortedNames(manifest) {
		out = append(out, schemas.EnvVar{Name: name, Value: manifest[name], Source: schemas.EnvFromManifest})
	}
	out = append(out, provider...)
	for _, e := range launchEnv {
		e.Source = schemas.EnvFromLaunch
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b schemas.EnvVar) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LooksSecret reports whether an environment variable name suggests it holds
// a credential: one of its _-separated words is TOKEN, SECRET, PASSWORD and
// the like, or it ends in KEY after API or PRIVATE.
func LooksSecret(name string) bool {
	words := strings.Split(strings.ToUpper(name), "_")
	for i, w := range words {
		switch w {
		case "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS", "PAT",
			"CREDENTIAL", "CREDENTIALS", "AUTH", "APIKEY", "AUTHORIZATION", "COOKIE":
			return true
		case "KEY":
			if i > 0 && (words[i-1] == "API" || words[i-1] == "PRIVATE" || words[i-1] == "ACCESS" || words[i-1] == "SECRET") {
				return true
			}
		}
	}
	return false
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
