package planner

import (
	"encoding/json"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// AgentFiles returns the plan's agent files with the launch placeholders
// in their content filled, as AgentEnv does for the environment: the agent
// CLIs' MCP configs name the bottle's agent surface (<mcp-url>), which is
// known only at launch. The plan itself keeps the placeholders.
func AgentFiles(plan *schemas.Plan, v LaunchValues) []schemas.AgentFile {
	if len(plan.Files) == 0 {
		return nil
	}
	// The workdir is a host path: escaped as a JSON (and TOML basic) string
	// body, a quote or backslash in it cannot end the string it is put in.
	wd, _ := json.Marshal(v.Workdir)
	r := strings.NewReplacer(PlaceholderProxyURL, v.ProxyURL, PlaceholderCAFile, v.CAFile,
		PlaceholderBottleID, v.BottleID, PlaceholderMCPURL, v.MCPURL,
		PlaceholderWorkdir, string(wd[1:len(wd)-1]))
	out := make([]schemas.AgentFile, len(plan.Files))
	for i, f := range plan.Files {
		f.Content = r.Replace(f.Content)
		out[i] = f
	}
	return out
}
