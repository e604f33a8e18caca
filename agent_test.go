package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/planner"
)

// agentCases are the provider templates, each with the bottle that uses
// it, the API host its CLI calls and the file holding its MCP config.
var agentCases = []struct {
	cli, bottle, apiHost, mcpFile string
}{
	{"claude", "claudy", planner.AnthropicHost, planner.ClaudeConfigFile},
	{"codex", "codexy", planner.ChatGPTHost, planner.CodexConfigFile},
}

// TestAgentInBottle runs the claude and codex stand-ins as their bottle's
// default command, on both backends (docker: an image built from the real
// Dockerfile, entrypoint wrapper included). Each agent finds its bottle's
// MCP server in its own config, calls its API with its placeholder
// credential (the upstream must see the real one), reads the structured
// 403 of a path outside its route, is refused a host at CONNECT, finds
// that denial with recent_denials and asks for the host with
// request_egress over MCP, is approved by an operator in another process,
// and gets through. No credential is visible in the
// bottle: not in any process's environment or command line, not in the
// agent's home.
func TestAgentInBottle(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newAgentE2E(t, be)
			if e.backend == docker.Name {
				// One image serves both bottles: it has both stand-ins.
				e.writeBottles(buildStandinImage(t, "claude"))
			}
			for _, c := range agentCases {
				t.Run(c.cli, func(t *testing.T) {
					e.t = t
					code, out, errOut := e.runRemediation(c.bottle)
					t.Logf("exit %d\nstderr:\n%s\nstdout:\n%s", code, errOut, redactTokens(out, e))
					if code != 0 {
						t.Fatalf("the agent exited %d", code)
					}
					sec := sections(out)
					if _, ok := sec["end"]; !ok {
						t.Fatalf("the agent did not finish its scenario")
					}
					if s := sec["mcp-config"]; !strings.Contains(s, "url=http://127.0.0.1:3129/mcp") {
						t.Errorf("the agent's %s does not point at its agent surface: %q", c.mcpFile, s)
					}
					if e.backend == docker.Name {
						// The image's numeric USER and its entrypoint wrapper
						// (the CA bundle) are the real Dockerfile's.
						if s := sec["mcp-config"]; !strings.Contains(s, "uid=1000 ssl-cert-file=/root/.cache/bot-bottle/ca-bundle.pem") {
							t.Errorf("in the image: %q, want uid 1000 and the wrapper's CA bundle", s)
						}
					}
					if s := sec["api"]; !strings.Contains(s, "status=200") || !strings.Contains(s, "host="+c.apiHost) || !strings.Contains(s, "auth=real") {
						t.Errorf("%s through the proxy: %q", c.apiHost, s)
					}
					if seen := e.seenAuth(c.apiHost); len(seen) == 0 || slices.ContainsFunc(seen, func(k string) bool { return k != "real" }) {
						t.Errorf("the upstream saw %v for %s, want the real token on every request", seen, c.apiHost)
					}
					if s := sec["path-denied"]; !strings.Contains(s, "status=403") || strings.Contains(s, "denial-header=\n") ||
						!strings.Contains(s, `"reason":"path_not_allowed"`) || !strings.Contains(s, `"denial_id":`) || !strings.Contains(s, `"hint":`) {
						t.Errorf("the structured 403 for a path outside the allowlist: %q", s)
					}
					if s := sec["denied"]; !strings.Contains(s, "status=403") || !strings.Contains(s, `"reason":"host_not_allowed"`) ||
						strings.Contains(s, "denial-header=\n") {
						t.Errorf("HTTPS to an unrouted host must get the structured 403: %q", s)
					}
					s := sec["request_egress"]
					if !strings.Contains(s, "tools=list_egress_routes,proposal_status,recent_denials,request_egress") {
						t.Errorf("the agent's MCP client did not see the agent surface's tools: %q", s)
					}
					if !strings.Contains(s, "reason=host_not_allowed") {
						t.Errorf("recent_denials over MCP did not list the CONNECT refusal: %q", s)
					}
					if !strings.Contains(s, "status=approved") {
						t.Errorf("request_egress over MCP: %q", s)
					}
					if s := sec["retry"]; !strings.Contains(s, "status=200") || !strings.Contains(s, "host=denied.test") || !strings.Contains(s, "auth=none") {
						t.Errorf("after approval: %q", s)
					}
					secrets := sec["secrets"]
					if !strings.Contains(secrets, "/environ") || !strings.Contains(secrets, "-- file ") || !strings.Contains(secrets, filepath.Base(c.mcpFile)) {
						t.Errorf("the agent did not look everywhere: %q", secrets)
					}
					e.assertNoToken("the bottle", out)
					e.assertNoToken("launch's stderr", errOut)
				})
			}
			e.t = t
			db, err := os.ReadFile(filepath.Join(e.home, "state.db"))
			must(t, err)
			e.assertNoToken("the event store", string(db))
		})
	}
}

// TestAgentPrompt: launch --prompt runs the provider's headless mode with
// the flags that make it run unattended, prints the agent's answer on
// stdout (its progress on stderr) and exits with the agent's exit code.
func TestAgentPrompt(t *testing.T) {
	for _, be := range ownerBackends { // the headless flags are the launcher's, whatever the kernel
		t.Run(be, func(t *testing.T) {
			e := newAgentE2E(t, be)
			if e.backend == docker.Name {
				e.writeBottles(buildStandinImage(t, "codex"))
			}
			want := map[string]string{
				"claudy": `standin-claude prompt="exit 7" args=["-p" "--dangerously-skip-permissions" "--" "exit 7"]`,
				"codexy": `standin-codex prompt="exit 7" args=["exec" "--skip-git-repo-check" "--" "exit 7"]`,
			}
			for bottle, line := range want {
				cmd := e.command(e.launchArgs(bottle, "exit 7")...)
				var out, errb syncBuffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				code := 0
				if err != nil {
					code = cmd.ProcessState.ExitCode()
				}
				if code != 7 || strings.TrimSpace(out.String()) != line {
					t.Errorf("%s --prompt: exit %d, stdout %q; want 7 and %q (stderr %q)", bottle, code, out.String(), line, errb.String())
				}
				if !strings.Contains(errb.String(), "progress goes to stderr") || strings.Contains(out.String(), "progress") {
					t.Errorf("%s: the agent's stderr must stay on stderr: %q", bottle, errb.String())
				}
			}
			cmd := e.command(e.launchArgs("claudy", "a prompt whose answer is 0")...)
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `prompt="a prompt whose answer is 0"`) {
				t.Errorf("exit 0: %v\n%s", err, out)
			}
		})
	}
}

// TestPromptRefusals: --prompt with a command, an empty prompt, or a
// bottle whose template has no headless mode is refused before anything
// starts.
func TestPromptRefusals(t *testing.T) {
	e := newAgentE2E(t, "local")
	must(t, os.WriteFile(filepath.Join(e.home, "bottles", "plain.yaml"), []byte("agent_provider: {template: command, command: [sh]}\n"), 0o644))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"launch", "--prompt", "x", "claudy", "--", "sh"}, "takes no command after --"},
		{[]string{"launch", "--prompt", " ", "claudy"}, "--prompt is empty"},
		{[]string{"launch", "--backend", "local", "--prompt", "x", "plain"}, "a prompt needs claude or codex"},
	}
	for _, c := range cases {
		out, err := e.cli(c.args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%v: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(e.home, "run")); len(entries) > 0 {
		t.Errorf("a refused launch left a run folder")
	}
}

// redactTokens keeps the credentials out of the test log even when a
// check above fails.
func redactTokens(s string, e *agentE2E) string {
	return strings.NewReplacer(e.claudeToken, "<claude-token>", e.codexToken, "<codex-token>").Replace(s)
}
