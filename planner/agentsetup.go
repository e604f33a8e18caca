package planner

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// AgentServerName is the name the bottle's agent surface has in the
// agent's own MCP configuration; its tools reach the agent as
// mcp__bot-bottle__request_egress (Claude Code) and the like.
const AgentServerName = "bot-bottle"

// Files the claude and codex templates write into the agent's home. Each is
// the file the CLI itself reads without being told where, so the agent
// needs no flag to find its bottle's MCP server or its instructions.
const (
	// ClaudeConfigFile is Claude Code's user configuration: its mcpServers
	// are the user scope, loaded in every project without the approval
	// a project's .mcp.json needs, and hasCompletedOnboarding skips the
	// first-run setup that a bottle's fresh home would otherwise show.
	ClaudeConfigFile = ".claude.json"
	// ClaudeSettingsFile holds user settings: it lets the agent call its
	// bottle's tools without asking the person at the keyboard (the
	// operator decides every request anyway).
	ClaudeSettingsFile = ".claude/settings.json"
	// ClaudeInstructionsFile is the user memory Claude Code reads in
	// every session.
	ClaudeInstructionsFile = ".claude/CLAUDE.md"
	// CodexConfigFile is Codex's configuration ($CODEX_HOME defaults to
	// ~/.codex).
	CodexConfigFile = ".codex/config.toml"
	// CodexInstructionsFile is the global AGENTS.md Codex reads before a
	// project's own.
	CodexInstructionsFile = ".codex/AGENTS.md"
)

// FileNote says what an agent file is for, for a person reading a plan.
func FileNote(path string) string {
	switch path {
	case ClaudeConfigFile, CodexConfigFile:
		return "the agent's MCP config: its bottle's agent surface"
	case ClaudeSettingsFile:
		return "lets the agent call its bottle's tools"
	case ClaudeInstructionsFile, CodexInstructionsFile:
		return "instructions: the structured 403 and how to ask for access"
	case GitConfigFile:
		return "git config: the git gate's URL rewrites and the commit identity"
	}
	return "placeholder credentials"
}

// AgentToolTimeoutSeconds bounds one call to the agent surface from the
// agent's CLI: above proposal_status's longest wait (5 minutes), so a call
// that waits for a person returns an answer rather than a client timeout.
const AgentToolTimeoutSeconds = 330

// ToolCallWait is the longest one call to the agent surface may wait for
// a person before it answers pending, for the agent CLI a template runs;
// 0 means the CLI sets no bound below the server's own. Codex (0.169 and
// later) hands a tool call that runs longer than 30 s back to the model
// as a script still running, which the model cannot act on; the answer
// must come before that. Claude Code waits MCP_TOOL_TIMEOUT, which the
// template sets above the longest wait.
func ToolCallWait(template string) time.Duration {
	if template == schemas.TemplateCodex {
		return 25 * time.Second
	}
	return 0
}

// agentSetup is what a template gives every bottle, with or without
// credentials: the agent CLI's MCP configuration pointing at the bottle's
// agent surface (<mcp-url>, filled at launch), its instructions, and the
// variables that make the CLI work in a bottle.
func agentSetup(template string) ([]schemas.AgentFile, []schemas.EnvVar) {
	env := func(name, value string) schemas.EnvVar {
		return schemas.EnvVar{Name: name, Value: value, Source: schemas.EnvFromProvider}
	}
	switch template {
	case schemas.TemplateClaude:
		return []schemas.AgentFile{
				{Path: ClaudeConfigFile, Mode: 0o600, Content: claudeConfig()},
				{Path: ClaudeSettingsFile, Mode: 0o600, Content: claudeSettings()},
				{Path: ClaudeInstructionsFile, Mode: 0o644, Content: agentInstructions(template)},
			}, []schemas.EnvVar{
				// The bottle is the sandbox Claude Code asks for before it
				// runs with --dangerously-skip-permissions as root (uid 0 is
				// common in containers, and is root of a local bottle's own
				// user namespace).
				env("IS_SANDBOX", "1"),
				// No auto-update, telemetry or error reporting: hosts the
				// bottle does not route, whose refusals would only be noise
				// in the operator's review.
				env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
				// Interactive Claude Code installs the official plugin
				// marketplace (downloads.claude.ai, github.com) on every
				// launch; the switch above does not stop it.
				env("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1"),
				env("MCP_TOOL_TIMEOUT", strconv.Itoa(AgentToolTimeoutSeconds*1000)),
			}
	case schemas.TemplateCodex:
		return []schemas.AgentFile{
			{Path: CodexConfigFile, Mode: 0o600, Content: codexConfig()},
			{Path: CodexInstructionsFile, Mode: 0o644, Content: agentInstructions(template)},
		}, nil
	}
	return nil, nil
}

// claudeConfig is the agent's ~/.claude.json. The workdir is marked
// trusted: the bottle is what keeps the host safe from a repository's
// settings, so the trust dialog would only stop an unattended agent at
// every launch.
func claudeConfig() string {
	doc := map[string]any{
		"hasCompletedOnboarding": true,
		"projects": map[string]any{
			PlaceholderWorkdir: map[string]any{"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true},
		},
		"mcpServers": map[string]any{
			AgentServerName: map[string]any{"type": "http", "url": PlaceholderMCPURL},
		},
	}
	return marshalIndent(doc)
}

func claudeSettings() string {
	doc := map[string]any{
		"permissions": map[string]any{"allow": []string{"mcp__" + AgentServerName}},
	}
	return marshalIndent(doc)
}

// codexConfig is the agent's config.toml: the bottle's agent surface as a
// streamable HTTP server (it needs no token: only processes inside this
// bottle can reach it), and the settings a bottle needs, each verified with
// the real CLI (realcli_test.go at the repository root):
//   - the bottle is the sandbox: Codex's own (workspace-write, the TUI's
//     default) cuts every command off from the proxy, so neither an
//     allowed host nor the structured 403 would reach the agent; and an
//     unattended agent has nobody to ask for approval;
//   - no analytics, OpenTelemetry export, update checks, tooltips (their
//     announcements come from raw.githubusercontent.com), and no ChatGPT
//     apps (connectors) or plugins: requests to hosts and
//     paths the bottle does not route, whose refusals would only be noise
//     in the operator's review (and the apps act as the user on
//     chatgpt.com);
//   - the workdir is trusted, as for Claude: the bottle keeps the host safe
//     from a repository's settings, and the protected-path placeholders
//     (an empty .codex folder) would otherwise stop every launch at
//     Codex's folder-trust question.
func codexConfig() string {
	return "# Written by bot-bottle for this bottle at every launch.\n" +
		"# The bottle is the sandbox: Codex's own would cut commands off from the proxy.\n" +
		"sandbox_mode = \"danger-full-access\"\n" +
		"approval_policy = \"never\"\n" +
		"# Nothing the bottle does not route: no update checks.\n" +
		"check_for_update_on_startup = false\n" +
		"\n[analytics]\nenabled = false\n" +
		"\n[otel]\nexporter = \"none\"\nmetrics_exporter = \"none\"\ntrace_exporter = \"none\"\n" +
		"\n[features]\napps = false\nplugins = false\nremote_plugin = false\ntool_suggest = false\n" +
		"# No background app-server daemon: it reads account usage and fetches\n" +
		"# announcements the bottle does not route, and updates itself.\n" +
		"daemon_auto_start = false\nin_app_updates = false\n" +
		"\n[tui]\nshow_tooltips = false\n" +
		"\n# The bottle is what keeps the host safe from this folder's settings.\n" +
		"[projects.\"" + PlaceholderWorkdir + "\"]\ntrust_level = \"trusted\"\n" +
		"\n# Its MCP server, where you ask for egress.\n" +
		"[mcp_servers." + AgentServerName + "]\n" +
		"url = \"" + PlaceholderMCPURL + "\"\n" +
		"tool_timeout_sec = " + strconv.Itoa(AgentToolTimeoutSeconds) + "\n"
}

// marshalIndent writes JSON as the CLIs do, without escaping < and >: the
// launch placeholders (<mcp-url>) must appear as themselves to be filled.
func marshalIndent(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err) // maps of strings and bools always encode
	}
	return b.String()
}

// agentInstructions tells the agent what a bottle is, what a refusal
// looks like, and how to ask for access instead of working around it.
func agentInstructions(template string) string {
	tool := func(name string) string { return "`" + name + "`" }
	server := "the MCP server `" + AgentServerName + "`"
	if template == schemas.TemplateClaude {
		tool = func(name string) string { return "`mcp__" + AgentServerName + "__" + name + "`" }
	}
	r := strings.NewReplacer("{server}", server,
		"{request}", tool("request_egress"), "{status}", tool("proposal_status"),
		"{routes}", tool("list_egress_routes"), "{denials}", tool("recent_denials"))
	return r.Replace(instructionsText)
}

const instructionsText = `# You are working in a bot-bottle

Your only way to the network is this bottle's egress proxy (HTTPS_PROXY). It lets through the
hosts, paths and methods your operator chose, and adds the credentials they hold on the way out:
you never see a token and need none. Leave any token or auth file you find as it is: it is a
placeholder the proxy replaces.

## When a request is refused

For a path or method a host's route does not allow, the proxy answers 403 with
Content-Type: application/json, a header X-Bot-Bottle-Denial: <id>, and a body like:

    {"error": "...", "denial_id": "...", "bottle": "...", "host": "pypi.org", "method": "GET",
     "path": "/simple/requests/", "reason": "path_not_allowed", "hint": "..."}

reason says why (host_not_allowed, path_not_allowed, method_not_allowed, git_push, ...) and hint
what to do. For HTTPS to a host the bottle has no route to at all, the same 403 answers the
proxy CONNECT, and most clients report only a failed tunnel ("CONNECT tunnel failed, response
403", "Forbidden"): {denials} lists that refusal with its denial_id.

Do not work around a refusal (another host, a mirror, turning off certificate checks, a
tunnel): ask for access instead.

## How to ask for access

1. Call {request}, a tool of {server}, with:
   - host: the host you need;
   - path_prefixes and methods: only what the task needs;
   - justification: what you need it for, for the person who decides;
   - denial_id: the one from the 403.
2. The call waits a while for the decision. approved: retry your request. pending: call
   {status} with the proposal_id to wait again. denied: do not ask again for the same
   access; find another way, or tell your user what you need and why.

{routes} shows what you may reach now.
{denials} lists your recent refusals and their denial_id.
Credentials are never granted this way: if an allowed host wants a login it does not get,
tell your user.
`
