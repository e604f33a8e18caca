package hostconfig

import (
	"fmt"
	"strconv"
	"strings"
)

// codexManaged are the keys of Codex's [mcp_servers.bot-bottle] table that
// bot-bottle owns; every other key (enabled, env_vars, tools, a timeout a
// person set) is kept.
var codexManaged = []string{"command", "args", "env", "url", "bearer_token_env_var"}

// codexToolTimeout is the tool_timeout_sec an install adds when the table
// has none: bottle_launch with a prompt waits for the bottled agent to
// finish, and egress_decide for the bottle's owner, far longer than
// Codex's default of 60 seconds.
const codexToolTimeout = 3600

// tomlLine is one `key = value` line, the value already in TOML syntax.
type tomlLine struct {
	key, value string
}

// codexLines are the managed lines of the server's table, as Codex reads
// it from config.toml: stdio (command, args, env) or streamable HTTP (url
// and the name of the variable holding the bearer token).
func codexLines(s Server) []tomlLine {
	if s.IsHTTP() {
		return []tomlLine{{"url", tomlString(s.URL)}, {"bearer_token_env_var", tomlString(s.TokenEnv)}}
	}
	args := make([]string, len(s.Args))
	for i, a := range s.Args {
		args[i] = tomlString(a)
	}
	lines := []tomlLine{{"command", tomlString(s.Command)}, {"args", "[" + strings.Join(args, ", ") + "]"}}
	if s.Home != "" {
		lines = append(lines, tomlLine{"env", "{ " + HomeEnv + " = " + tomlString(s.Home) + " }"})
	}
	return lines
}

// codexDefaults are lines added only when the table lacks the key.
func codexDefaults() []tomlLine {
	return []tomlLine{{"tool_timeout_sec", strconv.Itoa(codexToolTimeout)}}
}

// CodexTOML returns the config.toml table for the server, for a person to
// read or paste.
func CodexTOML(s Server) []byte {
	out, err := mergeTOML(nil, codexLines(s), codexDefaults())
	if err != nil {
		panic(err) // merging into an empty file cannot fail
	}
	return out
}

// CodexCommand returns the `codex mcp add` command line that registers the
// same server.
func CodexCommand(s Server) string {
	args := []string{"codex", "mcp", "add", ServerName}
	if s.IsHTTP() {
		return shellJoin(append(args, "--url", s.URL, "--bearer-token-env-var", s.TokenEnv))
	}
	if s.Home != "" {
		args = append(args, "--env", HomeEnv+"="+s.Home)
	}
	return shellJoin(append(append(args, "--", s.Command), s.Args...))
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
