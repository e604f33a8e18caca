package planner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/pelletier/go-toml/v2"
)

// fileAt returns the content of the plan's agent file at path.
func fileAt(t *testing.T, plan *schemas.Plan, path string) string {
	t.Helper()
	for _, f := range plan.Files {
		if f.Path == path {
			return f.Content
		}
	}
	t.Fatalf("plan has no agent file %s (have %v)", path, plan.Files)
	return ""
}

func envAt(plan *schemas.Plan, name string) (string, bool) {
	for _, e := range plan.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestClaudeAgentSetup: a claude bottle's agent finds its bottle's MCP
// server in the file Claude Code reads (user scope), may call its tools,
// and reads instructions for the structured 403, with or without
// credentials.
func TestClaudeAgentSetup(t *testing.T) {
	for _, manifest := range []string{
		"agent_provider: {template: claude, auth_token: CLAUDE_TOKEN}\n",
		"agent_provider: {template: claude}\n",
	} {
		plan, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": manifest})}).Plan("main")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(fileAt(t, plan, ClaudeConfigFile), PlaceholderMCPURL) {
			t.Errorf(".claude.json must hold %s verbatim for the launcher to fill it", PlaceholderMCPURL)
		}
		var cfg struct {
			Onboarded  bool `json:"hasCompletedOnboarding"`
			MCPServers map[string]struct {
				Type, URL string
			} `json:"mcpServers"`
		}
		if err := json.Unmarshal([]byte(fileAt(t, plan, ClaudeConfigFile)), &cfg); err != nil {
			t.Fatalf(".claude.json: %v", err)
		}
		srv := cfg.MCPServers[AgentServerName]
		if !cfg.Onboarded || srv.Type != "http" || srv.URL != PlaceholderMCPURL {
			t.Errorf(".claude.json = %+v", cfg)
		}
		var settings struct {
			Permissions struct{ Allow []string }
		}
		if err := json.Unmarshal([]byte(fileAt(t, plan, ClaudeSettingsFile)), &settings); err != nil {
			t.Fatalf("settings.json: %v", err)
		}
		if !slices.Equal(settings.Permissions.Allow, []string{"mcp__bot-bottle"}) {
			t.Errorf("settings allow %v", settings.Permissions.Allow)
		}
		checkInstructions(t, fileAt(t, plan, ClaudeInstructionsFile), "mcp__bot-bottle__request_egress")
		for name, want := range map[string]string{"IS_SANDBOX": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "MCP_TOOL_TIMEOUT": "330000"} {
			if v, ok := envAt(plan, name); !ok || v != want {
				t.Errorf("env %s = %q, want %q", name, v, want)
			}
		}
	}
}

// TestCodexAgentSetup: a codex bottle's config.toml names the bottle's
// agent surface as a streamable HTTP server, and AGENTS.md explains the
// 403; with forwarded credentials the placeholder auth.json is there too.
func TestCodexAgentSetup(t *testing.T) {
	home := newHome(t, map[string]string{"main.yaml": "agent_provider: {template: codex, forward_host_credentials: true}\n"})
	auth := filepath.Join(home, "auth.json")
	if err := os.WriteFile(auth, []byte(`{"tokens":{"access_token":"at-SECRET","account_id":"acct"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	plan, err := (&Planner{Home: home, CodexAuthFile: auth}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		MCPServers map[string]struct {
			URL            string  `toml:"url"`
			ToolTimeoutSec float64 `toml:"tool_timeout_sec"`
		} `toml:"mcp_servers"`
	}
	if err := toml.Unmarshal([]byte(fileAt(t, plan, CodexConfigFile)), &cfg); err != nil {
		t.Fatalf("config.toml: %v", err)
	}
	if srv := cfg.MCPServers[AgentServerName]; srv.URL != PlaceholderMCPURL || srv.ToolTimeoutSec != AgentToolTimeoutSeconds {
		t.Errorf("config.toml server = %+v", srv)
	}
	checkInstructions(t, fileAt(t, plan, CodexInstructionsFile), "`request_egress`")
	fileAt(t, plan, ".codex/auth.json")
	js, _ := json.Marshal(plan)
	if strings.Contains(string(js), "SECRET") {
		t.Fatal("the plan holds the codex token")
	}
}

func checkInstructions(t *testing.T, text, tool string) {
	t.Helper()
	for _, want := range []string{tool, "X-Bot-Bottle-Denial", "denial_id", "reason", "hint", "justification", "proposal_status", "proposal_id", "403"} {
		if !strings.Contains(text, want) {
			t.Errorf("instructions lack %q:\n%s", want, text)
		}
	}
}

// TestCommandTemplateHasNoAgentSetup: only the agent CLIs get files.
func TestCommandTemplateHasNoAgentSetup(t *testing.T) {
	plan, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": "agent_provider: {template: command, command: [sh]}\n"})}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 0 {
		t.Errorf("files %v", plan.Files)
	}
}

func TestPromptCommand(t *testing.T) {
	plan := func(tmpl string, cmd ...string) *schemas.Plan {
		p := &schemas.Plan{Bottle: "b"}
		if tmpl != "" {
			p.Provider = &schemas.ProviderPlan{Template: tmpl, Command: cmd}
		}
		return p
	}
	cases := []struct {
		plan   *schemas.Plan
		prompt string
		want   []string
		err    string
	}{
		{plan(schemas.TemplateClaude, "claude"), "fix the tests", []string{"claude", "-p", "--dangerously-skip-permissions", "--", "fix the tests"}, ""},
		{plan(schemas.TemplateCodex, "codex"), "-rf /", []string{"codex", "exec", "--skip-git-repo-check", "--", "-rf /"}, ""},
		{plan(schemas.TemplateClaude, "claude", "--model", "opus"), "x", []string{"claude", "--model", "opus", "-p", "--dangerously-skip-permissions", "--", "x"}, ""},
		{plan(schemas.TemplateCommand, "sh"), "x", nil, "template command; a prompt needs claude or codex"},
		{plan(""), "x", nil, "has no agent provider"},
		{plan(schemas.TemplateClaude, "claude"), "  ", nil, "prompt: empty"},
		{plan(schemas.TemplateClaude, "claude"), "a\x00b", nil, "NUL"},
		{plan(schemas.TemplateClaude, "claude"), strings.Repeat("x", maxPromptBytes+1), nil, "more than"},
	}
	for _, c := range cases {
		got, err := PromptCommand(c.plan, c.prompt)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.prompt, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%q: %q, %v; want %q", c.prompt, got, err, c.want)
		}
	}
}

// TestAgentFilesFillsLaunchValues: the MCP URL lands in the files at
// launch; the plan keeps its placeholders.
func TestAgentFilesFillsLaunchValues(t *testing.T) {
	plan, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": "agent_provider: {template: codex}\n"})}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	files := AgentFiles(plan, LaunchValues{MCPURL: "http://127.0.0.1:3129/mcp"})
	var cfg map[string]any
	for _, f := range files {
		if f.Path == CodexConfigFile {
			if err := toml.Unmarshal([]byte(f.Content), &cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv, _ := cfg["mcp_servers"].(map[string]any)[AgentServerName].(map[string]any)
	if got := srv["url"]; got != "http://127.0.0.1:3129/mcp" {
		t.Errorf("url = %v", got)
	}
	if !strings.Contains(fileAt(t, plan, CodexConfigFile), PlaceholderMCPURL) {
		t.Errorf("AgentFiles changed the plan")
	}
}

// TestClaudeTrustsTheWorkdir: the workdir is filled into .claude.json's
// projects, escaped so that a path with a quote or backslash cannot break
// out of its JSON string.
func TestClaudeTrustsTheWorkdir(t *testing.T) {
	plan, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": "agent_provider: {template: claude}\n"})}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	for _, wd := range []string{"/work/repo", `/tmp/odd "dir" \ name`, "/tmp/x\",\"hasCompletedOnboarding\":false,\"y"} {
		for _, f := range AgentFiles(plan, LaunchValues{Workdir: wd}) {
			if f.Path != ClaudeConfigFile {
				continue
			}
			var cfg struct {
				Onboarded bool `json:"hasCompletedOnboarding"`
				Projects  map[string]struct {
					Trusted bool `json:"hasTrustDialogAccepted"`
				} `json:"projects"`
			}
			if err := json.Unmarshal([]byte(f.Content), &cfg); err != nil {
				t.Fatalf("%q: .claude.json: %v", wd, err)
			}
			if len(cfg.Projects) != 1 || !cfg.Projects[wd].Trusted || !cfg.Onboarded {
				t.Errorf("%q: projects %+v, onboarded %v", wd, cfg.Projects, cfg.Onboarded)
			}
		}
	}
}

// TestCodexConfigForABottle: Codex runs without a sandbox of its own or
// approvals (the bottle is both), and with nothing that calls hosts or
// paths the bottle does not route.
func TestCodexConfigForABottle(t *testing.T) {
	plan, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": "agent_provider: {template: codex}\n"})}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Sandbox   string `toml:"sandbox_mode"`
		Approval  string `toml:"approval_policy"`
		Update    *bool  `toml:"check_for_update_on_startup"`
		Analytics struct {
			Enabled *bool `toml:"enabled"`
		} `toml:"analytics"`
		Otel     map[string]string `toml:"otel"`
		Features map[string]bool   `toml:"features"`
		TUI      map[string]bool   `toml:"tui"`
	}
	if err := toml.Unmarshal([]byte(fileAt(t, plan, CodexConfigFile)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Sandbox != "danger-full-access" || cfg.Approval != "never" {
		t.Errorf("sandbox_mode %q, approval_policy %q", cfg.Sandbox, cfg.Approval)
	}
	if cfg.Update == nil || *cfg.Update || cfg.Analytics.Enabled == nil || *cfg.Analytics.Enabled || cfg.Otel["exporter"] != "none" {
		t.Errorf("update check %v, analytics %v, otel %v", cfg.Update, cfg.Analytics.Enabled, cfg.Otel)
	}
	if on, set := cfg.TUI["show_tooltips"]; !set || on {
		t.Errorf("tui.show_tooltips = %v (set %v), want false", on, set)
	}
	for _, f := range []string{"apps", "plugins", "remote_plugin", "tool_suggest"} {
		if on, set := cfg.Features[f]; !set || on {
			t.Errorf("features.%s = %v (set %v), want false", f, on, set)
		}
	}
}

// TestCodexAPIKey: api_key routes api.openai.com with the key from the
// named host variable, and nothing on chatgpt.com; the agent gets a
// placeholder key. It goes with template codex only, and not with a
// forwarded ChatGPT login.
func TestCodexAPIKey(t *testing.T) {
	plan, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": "agent_provider: {template: codex, api_key: MY_OPENAI_KEY}\n"})}).Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Routes) != 1 || plan.Routes[0].Host != OpenAIHost || plan.Routes[0].Auth == nil || plan.Routes[0].Auth.TokenRef != "MY_OPENAI_KEY" {
		t.Errorf("routes %+v", plan.Routes)
	}
	var auth map[string]any
	if err := json.Unmarshal([]byte(fileAt(t, plan, ".codex/auth.json")), &auth); err != nil || auth["OPENAI_API_KEY"] != OpenAIKeyPlaceholder {
		t.Errorf("auth.json %v (%v)", auth, err)
	}
	for manifest, want := range map[string]string{
		"agent_provider: {template: claude, api_key: K}\n":                                "agent_provider.api_key: is for template codex",
		"agent_provider: {template: codex, forward_host_credentials: true, api_key: K}\n": "agent_provider.api_key: and forward_host_credentials are both set (at ",
		"agent_provider: {template: codex, api_key: sk-live-123}\n":                       "must name the host environment variable",
	} {
		_, err := (&Planner{Home: newHome(t, map[string]string{"main.yaml": manifest})}).Plan("main")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", manifest, err, want)
		}
	}
}
