package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/docker"
)

// TestRealCLIAgents launches agents with the real Claude Code and Codex in
// real bottles, against the scripted model: a repository agent (its
// prompt and one skill shipped in the workdir's .bot-bottle, the other
// skill from the home) in the claude bottle, and a home agent in the codex
// bottle. For each, the agent's system prompt and its skills' descriptions
// must reach the model's request (the CLI read them from the files the
// launch wrote where it reads instructions and skills), launch says where
// the agent came from, and the plan shows the prompt's source and each
// skill's origin.
func TestRealCLIAgents(t *testing.T) {
	for _, be := range []string{"local", "docker"} {
		t.Run(be, func(t *testing.T) {
			e := newRealE2E(t, be)
			if e.backend == docker.Name {
				img := realCLIImage(t)
				e.writeBottles(img, img)
			}
			tag := randomHex()
			a := agentMarkers{prompt: "bb-agent-prompt-" + tag, homeSkill: "bb-home-skill-" + tag, repoSkill: "bb-repo-skill-" + tag}
			e.writeAgents(a)
			t.Run("claude-repository-agent", func(t *testing.T) {
				e.t = t
				e.checkAgent("reviewer", "claude", true, a, []string{a.repoSkill, a.homeSkill})
			})
			t.Run("codex-home-agent", func(t *testing.T) {
				e.t = t
				e.checkAgent("coder", "codex", false, a, []string{a.homeSkill})
			})
		})
	}
}

// agentMarkers are unique words the agents' prompt and skills carry, to
// find in what the CLI sent the model.
type agentMarkers struct{ prompt, homeSkill, repoSkill string }

// writeAgents writes a repository agent (reviewer, in the claude bottle)
// with a repository skill and a home skill, and a home agent (coder, in
// the codex bottle) with the home skill.
func (e *realE2E) writeAgents(a agentMarkers) {
	files := map[string]string{
		filepath.Join(e.workdir, ".bot-bottle", "agents", "reviewer.md"): "---\nbottle: claude\nskills: [repo-checklist, go-testing]\n---\n" +
			"You are the reviewer of this repository. Your code word is " + a.prompt + ".\n",
		filepath.Join(e.workdir, ".bot-bottle", "skills", "repo-checklist", "SKILL.md"): "---\nname: repo-checklist\ndescription: The review checklist of this repository (" +
			a.repoSkill + "); use it for every review.\n---\n1. The tests pass.\n",
		filepath.Join(e.home, "agents", "coder.md"): "---\nbottle: codex\nskills: [go-testing]\n---\n" +
			"You write Go for this project. Your code word is " + a.prompt + ".\n",
		filepath.Join(e.home, "skills", "go-testing", "SKILL.md"): "---\nname: go-testing\ndescription: Run and fix Go tests (" +
			a.homeSkill + "); use it when a Go test fails.\n---\nRun `go test ./...` and read the first failure.\n",
		filepath.Join(e.home, "skills", "go-testing", "scripts", "run.sh"): "#!/bin/sh\ngo test ./...\n",
	}
	for p, content := range files {
		must(e.t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(e.t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// checkAgent plans and launches the agent headless on the hello scenario
// and checks what reached the model.
func (e *realE2E) checkAgent(agent, bottle string, fromRepo bool, a agentMarkers, skills []string) {
	e.t.Helper()
	plan, err := e.cli("plan", "--agent", agent, "--workdir", e.workdir)
	if err != nil {
		e.t.Fatalf("plan --agent %s: %v\n%s", agent, err, plan)
	}
	origin := "from the home"
	if fromRepo {
		origin = "from the repository " + e.workdir
	}
	for _, want := range []string{"Agent " + agent + ", " + origin, "bottle:  " + bottle + ", from the home", "prompt:  ", "skills, into ~/"} {
		if !strings.Contains(plan, want) {
			e.t.Errorf("plan --agent %s does not say %q:\n%s", agent, want, plan)
		}
	}
	before := e.model.Requests()
	args := e.launchArgs("-", scenarioHello+": say hello")
	args = append(args[:len(args)-1], "--agent", agent)
	code, out, errOut := e.run(args...)
	if code != 0 || !strings.Contains(out, helloAnswer) {
		e.t.Fatalf("launch --agent %s --prompt: exit %d, stdout %q\nstderr:\n%s", agent, code, out, errOut)
	}
	if fromRepo && !strings.Contains(errOut, "from the repository "+e.workdir) {
		e.t.Errorf("launch --agent %s does not say the agent came from the repository:\n%s", agent, errOut)
	}
	if n := e.model.RequestsContaining(before, a.prompt); n == 0 {
		e.t.Errorf("%s: no model request carried the agent's system prompt (%d requests)", bottle, e.model.Requests()-before)
	}
	for _, s := range skills {
		if n := e.model.RequestsContaining(before, s); n == 0 {
			e.t.Errorf("%s: no model request carried the description of the skill marked %s", bottle, s)
		}
	}
	// The prompt is labelled as the agent file's and delimited: the
	// block's heading and both markers reach the model with it (Claude
	// Code strips HTML comments from CLAUDE.md: markers of that kind
	// would not).
	for _, want := range []string{`Your role: the agent \"` + agent + `\"`, "the agent's system prompt begins, sha256 ", "the agent's system prompt ends, sha256 "} {
		if n := e.model.RequestsContaining(before, want); n == 0 {
			e.t.Errorf("%s: the agent's prompt reached the model without %q", bottle, want)
		}
	}
	if d := e.denials(e.lastID(bottle)); len(d) > 0 {
		e.t.Errorf("%s: the agent's turn drew %d denials, want 0: %v", bottle, len(d), d)
	}
	e.assertNoToken("the output", out+errOut)
}
