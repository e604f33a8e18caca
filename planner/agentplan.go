package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Where each template's CLI reads the agent's prompt and skills, relative
// to the agent's home. Codex reads skills from ~/.agents/skills (its
// documented user folder; verified with Codex 0.171, which also reads
// $CODEX_HOME/skills).
const (
	ClaudeSkillsDir = ".claude/skills"
	CodexSkillsDir  = ".agents/skills"
)

// agentTargets returns where a template's CLI reads instructions and
// skills; ok is false for a template without an agent CLI.
func agentTargets(template string) (instructions, skills string, ok bool) {
	switch template {
	case schemas.TemplateClaude:
		return ClaudeInstructionsFile, ClaudeSkillsDir, true
	case schemas.TemplateCodex:
		return CodexInstructionsFile, CodexSkillsDir, true
	}
	return "", "", false
}

// PlanAgent plans the agent called name for a launch in workdir ("": home
// agents and skills only). The agent is the home's
// ($BOT_BOTTLE_HOME/agents/NAME.md), else the repository's
// (RepositoryOf(workdir)/.bot-bottle/agents/NAME.md); its bottle is
// planned from the home as Plan does, and the plan gains the agent: its
// prompt, appended (delimited and labelled) to the template's
// instructions file, and its skills, each from the home's skills folder
// else the repository's, copied into the CLI's skills folder.
//
// Everything read from a repository is data: read beneath its folder
// without following a symlink, bounded, and only ever written as files
// into the agent's home. Every located problem (the bottle, each skill) is
// reported at once.
//
// The workdir is resolved first (absolute, symlinks followed), as launch
// resolves the folder it mounts: a relative or linked spelling must not
// plan another repository's agent than the bottle will see.
func (p *Planner) PlanAgent(name, workdir string) (*schemas.Plan, error) {
	if workdir != "" {
		real, err := resolveWorkdir(workdir)
		if err != nil {
			return nil, fmt.Errorf("agent %q: %w", name, err)
		}
		workdir = real
	}
	src := newAgentSource(p.Home, workdir)
	found, err := src.findAgent(name)
	if err != nil {
		return nil, err
	}
	a, err := schemas.ParseAgent(found.path, found.src, found.fromRepo)
	if err != nil {
		return nil, err
	}
	var errs schemas.Errors
	at := func(key string) schemas.Location { return a.KeyAt[key] }
	plan, err := p.Plan(a.Bottle)
	var instructions, skillsDir string
	switch {
	case errors.Is(err, ErrBottleNotFound):
		who := "an agent runs in a bottle of the home"
		if found.fromRepo {
			who = "a repository agent can name only a bottle of the home"
		}
		errs = append(errs, &schemas.Error{At: at("bottle"), Key: "bottle",
			Msg:  fmt.Sprintf("bottle %q not found in %s: %s", a.Bottle, BottlesDir(p.Home), who),
			Hint: "have: " + strings.Join(ListBottles(BottlesDir(p.Home)), ", ")})
	case err != nil:
		return nil, fmt.Errorf("agent %q (%s): bottle %q: %w", name, found.path, a.Bottle, err)
	default:
		tmpl := ""
		if plan.Provider != nil {
			tmpl = plan.Provider.Template
		}
		var ok bool
		if instructions, skillsDir, ok = agentTargets(tmpl); !ok {
			errs = append(errs, &schemas.Error{At: at("bottle"), Key: "bottle",
				Msg:  fmt.Sprintf("bottle %q runs %s: an agent's prompt and skills go to the claude or codex CLI", a.Bottle, orNone(tmpl)),
				Hint: "name a bottle whose agent_provider.template is claude or codex"})
		}
	}
	ap := &schemas.AgentPlan{Name: name, File: found.path, Origin: schemas.FromHome, Repository: src.repo,
		Skills: []schemas.SkillPlan{}, SkillsDir: skillsDir}
	if found.fromRepo {
		ap.Origin = schemas.FromRepository
	}
	var warnings []string
	if found.shadowed != "" {
		warnings = append(warnings, fmt.Sprintf("the repository's agent %s (%s) is hidden by the home's", name, schemas.ShowPath(found.shadowed)))
	}
	budget := &skillBudget{bytes: schemas.MaxSkillsBytes, entries: schemas.MaxSkillEntries}
	for i, s := range a.Skills {
		sk, shadowed, err := src.loadSkill(s, budget)
		if err != nil {
			if list, ok := schemas.AsErrors(err); ok {
				errs = append(errs, list...) // positioned in the SKILL.md
				continue
			}
			errs = append(errs, &schemas.Error{At: itemAt(a.SkillsAt, i, at("skills")), Key: fmt.Sprintf("skills[%d]", i), Msg: err.Error()})
			continue
		}
		if shadowed != "" {
			warnings = append(warnings, fmt.Sprintf("the repository's skill %s (%s) is hidden by the home's", s, schemas.ShowPath(shadowed)))
		}
		sk.plan.Into = skillsDir + "/" + s
		ap.Skills = append(ap.Skills, sk.plan)
		ap.Files = append(ap.Files, skillFiles(skillsDir, sk)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	ap.Prompt = promptPlan(a, found.path, instructions)
	ap.Instructions = agentBlock(ap, strings.Trim(a.Prompt, "\r\n"))
	ap.GitUser = gitIdentity(a, found.path)
	if w := overlayGitUser(plan, ap.GitUser, found.path); w != "" {
		warnings = append(warnings, w)
	}
	if src.repo != "" {
		if fi, err := os.Lstat(filepath.Join(src.repoDir(), "bottles")); err == nil && fi.IsDir() {
			warnings = append(warnings, fmt.Sprintf("ignoring %s: bottles load only from %s (a repository cannot declare a bottle)",
				schemas.ShowPath(filepath.Join(src.repoDir(), "bottles")), BottlesDir(p.Home)))
		}
	}
	plan.Agent = ap
	plan.Warnings = append(plan.Warnings, warnings...)
	return plan, nil
}

// resolveWorkdir returns the real absolute path of a workdir that exists.
func resolveWorkdir(workdir string) (string, error) {
	abs, err := filepath.Abs(workdir)
	if err != nil {
		return "", fmt.Errorf("workdir %s: %w", schemas.ShowPath(workdir), err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("workdir %s: %w", schemas.ShowPath(abs), err)
	}
	return real, nil
}

func orNone(template string) string {
	if template == "" {
		return "no agent_provider"
	}
	return "template " + template
}

// itemAt returns the position of list item i, or of its key.
func itemAt(items []schemas.Location, i int, key schemas.Location) schemas.Location {
	if i < len(items) {
		return items[i]
	}
	return key
}

// promptPlan describes the prompt by source, size and digest, with a
// short flattened excerpt.
func promptPlan(a *schemas.Agent, file, into string) schemas.PromptPlan {
	text := strings.Trim(a.Prompt, "\r\n")
	sum := sha256.Sum256([]byte(text))
	pp := schemas.PromptPlan{Source: fmt.Sprintf("%s:%d", file, a.PromptLine), Bytes: len(text),
		SHA256: hex.EncodeToString(sum[:]), Excerpt: schemas.Flatten(text, 100), Into: into}
	if text != "" {
		pp.Lines = strings.Count(text, "\n") + 1
	}
	return pp
}

func gitIdentity(a *schemas.Agent, file string) *schemas.GitUserPlan {
	if a.GitGate == nil || a.GitGate.User == nil {
		return nil
	}
	u := a.GitGate.User
	g := &schemas.GitUserPlan{Name: u.Name, Email: u.Email}
	origin := func(key string) string {
		if l, ok := u.KeyAt[key]; ok {
			l.File = file
			return l.String()
		}
		return ""
	}
	g.NameOrigin, g.EmailOrigin = origin("name"), origin("email")
	return g
}
