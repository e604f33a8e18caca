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
//
// For an agent's plan it adds the agent's: its prompt block appended to
// the template's instructions file, and its skills' files. Those are the
// agent's text, copied as they are: no placeholder in them is filled.
func AgentFiles(plan *schemas.Plan, v LaunchValues) []schemas.AgentFile {
	if len(plan.Files) == 0 && plan.Agent == nil {
		return nil
	}
	// The workdir is a host path: escaped as a JSON (and TOML basic) string
	// body, a quote or backslash in it cannot end the string it is put in.
	wd, _ := json.Marshal(v.Workdir)
	r := strings.NewReplacer(PlaceholderProxyURL, v.ProxyURL, PlaceholderCAFile, v.CAFile,
		PlaceholderBottleID, v.BottleID, PlaceholderMCPURL, v.MCPURL,
		PlaceholderWorkdir, string(wd[1:len(wd)-1]), PlaceholderGitGateURL, v.GitGateURL)
	out := make([]schemas.AgentFile, len(plan.Files), len(plan.Files)+agentFileCount(plan))
	for i, f := range plan.Files {
		f.Content = r.Replace(f.Content)
		if a := plan.Agent; a != nil && f.Path == a.Prompt.Into {
			f.Content += a.Instructions
		}
		out[i] = f
	}
	if plan.Agent != nil {
		out = append(out, plan.Agent.Files...)
	}
	return out
}

func agentFileCount(plan *schemas.Plan) int {
	if plan.Agent == nil {
		return 0
	}
	return len(plan.Agent.Files)
}

// AgentCleanDirs returns the folders of the agent's home that a launch
// empties before it writes the agent files: an agent's skills folder, so
// that it holds the agent's skills and nothing an earlier launch (another
// skill list, or the agent itself) left there.
func AgentCleanDirs(plan *schemas.Plan) []string {
	if plan.Agent == nil || plan.Agent.SkillsDir == "" {
		return nil
	}
	return []string{plan.Agent.SkillsDir}
}
