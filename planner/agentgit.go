package planner

import (
	"fmt"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// overlayGitUser lays the agent's commit identity over its bottle's git
// gate: each field the agent sets replaces the bottle's (its origin with
// it), and the agent's ~/.gitconfig is rebuilt with it. The rewrites are
// the bottle's and stay as they are: an agent names who commits, never
// where git goes. It returns a warning when the bottle has no git gate,
// so the identity has nowhere to go.
func overlayGitUser(plan *schemas.Plan, g *schemas.GitUserPlan, agentFile string) string {
	if g == nil {
		return ""
	}
	if plan.GitGate == nil {
		return fmt.Sprintf("ignoring the git-gate.user of %s: the bottle %s has no git-gate, so the agent's git has no identity from bot-bottle", agentFile, plan.Bottle)
	}
	u := schemas.GitUserPlan{}
	if plan.GitGate.User != nil {
		u = *plan.GitGate.User
	}
	if g.Name != "" {
		u.Name, u.NameOrigin = g.Name, g.NameOrigin
	}
	if g.Email != "" {
		u.Email, u.EmailOrigin = g.Email, g.EmailOrigin
	}
	plan.GitGate.User = &u
	plan.GitGate.Config = gitConfig(plan.GitGate)
	for i := range plan.Files {
		if plan.Files[i].Path == GitConfigFile {
			plan.Files[i].Content = plan.GitGate.Config
		}
	}
	return ""
}
