package hostconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// claudeManaged are the keys of Claude Code's server entry that bot-bottle
// owns: an install sets or removes them and keeps every other key of the
// entry (a timeout a person added, say) where it is.
var claudeManaged = []string{"type", "command", "args", "env", "url", "headers"}

// member is one key of a JSON object in the order it is written.
type member struct {
	key   string
	value json.RawMessage
}

// claudeEntry is the server's entry under mcpServers, as Claude Code reads
// it from .mcp.json and ~/.claude.json. Over HTTP the Authorization header
// references ${BOT_BOTTLE_TOKEN}, which Claude Code expands when it
// connects: the file never holds the token.
func claudeEntry(s Server) []member {
	raw := func(v any) json.RawMessage {
		b, err := marshalNoEscape(v)
		if err != nil {
			panic(err) // strings, string slices and string maps always encode
		}
		return b
	}
	if s.IsHTTP() {
		return []member{
			{"type", raw("http")},
			{"url", raw(s.URL)},
			{"headers", raw(map[string]string{"Authorization": "Bearer ${" + s.TokenEnv + "}"})},
		}
	}
	m := []member{{"type", raw("stdio")}, {"command", raw(s.Command)}, {"args", raw(s.Args)}}
	if s.Home != "" {
		m = append(m, member{"env", raw(map[string]string{HomeEnv: s.Home})})
	}
	return m
}

// ClaudeJSON returns the .mcp.json document holding only bot-bottle's
// entry, for a person to read or paste.
func ClaudeJSON(s Server) []byte {
	out, err := mergeJSON(nil, claudeEntry(s))
	if err != nil {
		panic(err) // merging into an empty file cannot fail
	}
	return out
}

// ClaudeCommand returns the `claude mcp add` command line that registers
// the same entry in Claude Code's user scope. Variadic options (--env,
// --header) come after the name so they cannot swallow it.
func ClaudeCommand(s Server) string {
	args := []string{"claude", "mcp", "add", "--scope", "user"}
	if s.IsHTTP() {
		args = append(args, "--transport", "http", ServerName, s.URL, "--header", "Authorization: Bearer ${"+s.TokenEnv+"}")
		return shellJoin(args)
	}
	args = append(args, "--transport", "stdio", ServerName)
	if s.Home != "" {
		args = append(args, "--env", HomeEnv+"="+s.Home)
	}
	args = append(append(args, "--", s.Command), s.Args...)
	return shellJoin(args)
}

// marshalNoEscape encodes v as JSON without escaping <, > and &, as
// Claude Code itself writes them.
func marshalNoEscape(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// shellJoin quotes each argument for a POSIX shell where it needs it. A
// ${VAR} reference is single-quoted, so the shell passes it on literally
// and the client stores the reference, not the value.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
