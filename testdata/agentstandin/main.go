// Command agentstandin stands in for the `claude` and `codex` CLIs in the
// end-to-end tests: installed under either name, it behaves like the real
// CLI where a bottle depends on it.
//
//   - It finds its bottle's MCP server where the real CLI would: Claude
//     Code's user config ~/.claude.json (mcpServers, type http), Codex's
//     $CODEX_HOME/config.toml or ~/.codex/config.toml ([mcp_servers.NAME]
//     url), and calls it as a real MCP client over streamable HTTP.
//   - It authenticates as the real CLI does: Claude with
//     $CLAUDE_CODE_OAUTH_TOKEN, Codex with tokens.access_token from
//     ~/.codex/auth.json; both through $HTTPS_PROXY, trusting
//     $SSL_CERT_FILE.
//   - Headless, it takes the real flags (claude -p ... -- PROMPT, codex exec
//     ... -- PROMPT), prints the prompt and its arguments, and exits with N
//     when the prompt is "exit N".
//
// Interactive (no -p or exec), it runs the scenario named by
// $STANDIN_SCENARIO and prints what it sees, section by section ("===
// name"), for the test to judge on the host.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	name := filepath.Base(os.Args[0])
	if name != "claude" && name != "codex" {
		fmt.Fprintf(os.Stderr, "agentstandin: install me as claude or codex, not %s\n", name)
		os.Exit(2)
	}
	args := os.Args[1:]
	if prompt, ok := headless(name, args); ok {
		fmt.Printf("standin-%s prompt=%q args=%q\n", name, prompt, args)
		fmt.Fprintf(os.Stderr, "standin-%s: progress goes to stderr\n", name)
		if n, ok := strings.CutPrefix(prompt, "exit "); ok {
			code, _ := strconv.Atoi(n)
			os.Exit(code)
		}
		return
	}
	switch os.Getenv("STANDIN_SCENARIO") {
	case "remediate":
		os.Exit(remediate(name))
	default:
		fmt.Printf("standin-%s: interactive, args %q\n", name, args)
	}
}

// headless reports whether args ask for the CLI's non-interactive mode,
// with the prompt after "--".
func headless(name string, args []string) (string, bool) {
	mode := false
	for i, a := range args {
		switch {
		case name == "claude" && (a == "-p" || a == "--print"):
			mode = true
		case name == "codex" && i == 0 && a == "exec":
			mode = true
		case a == "--" && mode && i+1 < len(args):
			return args[i+1], true
		}
	}
	return "", false
}
