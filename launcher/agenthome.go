package launcher

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// AgentHomesDir is the folder of the bot-bottle home that keeps agents'
// homes between launches.
const AgentHomesDir = "agent-homes"

// AgentHomePath is where the home of bottle name's agent is kept for
// workdir: one per bottle and workdir, so `claude --resume` and `codex
// resume` find the sessions of the same project, and two projects never
// share one. It holds what the agent CLI writes (sessions, history,
// settings) and the files the plan writes at every launch, which are
// placeholders: the real credentials stay in the proxy, so the kept home
// holds no secret the agent did not already see.
func AgentHomePath(home, name, workdir string) string {
	sum := sha256.Sum256([]byte(workdir))
	return filepath.Join(home, AgentHomesDir, name+"-"+hex.EncodeToString(sum[:6]))
}

// keptHomeName names the kept home of a plan: its bottle's, or for an
// agent the bottle's and the agent's, so an agent's sessions and history
// never mix with another agent's, or with the bare bottle's, in the same
// workdir. A repository's agent is marked as such: it may share its name
// with the operator's own agent, which must not inherit the settings,
// hooks and memories the repository's wrote. Names have no "+", so
// BOTTLE+AGENT and BOTTLE+AGENT+repository never meet.
func keptHomeName(plan *schemas.Plan) string {
	switch {
	case plan.Agent == nil:
		return plan.Bottle
	case plan.Agent.Origin == schemas.FromRepository:
		return plan.Bottle + "+" + plan.Agent.Name + "+repository"
	default:
		return plan.Bottle + "+" + plan.Agent.Name
	}
}

// prepareAgentHome creates the kept home at p (mode 0700), first removing
// what an earlier launch left when fresh. RemoveAll never follows the
// symlinks an agent may have left there.
func prepareAgentHome(p string, fresh bool) error {
	if fresh {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("agent home %s: start fresh: %w", p, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("agent home %s: %w", p, err)
	}
	if err := os.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("agent home %s: %w", p, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("agent home %s: %w", p, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("agent home %s: not a folder (remove it, or launch with --fresh)", p)
	}
	return nil
}
