package hostconfig

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// ServerName is the name bot-bottle's entry has in every client's list of
// MCP servers; its tools appear to the agent as mcp__bot-bottle__*.
const ServerName = "bot-bottle"

// TokenEnv is the environment variable that holds the operator surface's
// bearer token, both for `bot-bottle serve --http` and for the clients
// that connect to it: configs reference it and never hold the value.
const TokenEnv = "BOT_BOTTLE_TOKEN"

// HomeEnv is the variable naming a bot-bottle home other than the default;
// a stdio server entry carries it so the server uses the home the entry
// was made for, whatever the client's own environment says.
const HomeEnv = "BOT_BOTTLE_HOME"

// Client is an MCP client whose configuration bot-bottle can write.
type Client string

// The clients mcp-config knows.
const (
	Claude Client = "claude"
	Codex  Client = "codex"
)

// Clients lists the known clients, for help texts and errors.
var Clients = []Client{Claude, Codex}

// ParseClient checks a client name.
func ParseClient(s string) (Client, error) {
	for _, c := range Clients {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown client %q: want claude (Claude Code) or codex (Codex)", s)
}

// Server is the operator surface as one client entry: either stdio (the
// client starts Command with Args) or streamable HTTP at URL with the
// bearer token in the variable TokenEnv.
type Server struct {
	// Command is the absolute path of the bot-bottle binary (stdio).
	Command string
	// Args are the arguments after it, ["serve"].
	Args []string
	// Home, when set, is passed to the stdio server as BOT_BOTTLE_HOME.
	Home string
	// URL is the streamable HTTP endpoint (…/mcp); set means HTTP.
	URL string
	// TokenEnv names the variable with the bearer token (HTTP only).
	TokenEnv string
}

// Stdio returns the entry for `bot-bottle serve` over stdio.
func Stdio(command, home string) (Server, error) {
	if !filepath.IsAbs(command) {
		return Server{}, fmt.Errorf("server command %q: not an absolute path (a client starts it from its own folder)", command)
	}
	if home != "" && !filepath.IsAbs(home) {
		return Server{}, fmt.Errorf("%s %q: not an absolute path", HomeEnv, home)
	}
	return Server{Command: command, Args: []string{"serve"}, Home: home}, nil
}

// HTTP returns the entry for `bot-bottle serve --http` at rawURL. A bare
// host:port is completed to http://host:port/mcp, and :port to loopback.
func HTTP(rawURL string) (Server, error) {
	s := rawURL
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return Server{}, fmt.Errorf("--http %q: %w", rawURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Server{}, fmt.Errorf("--http %q: scheme %q, want http or https", rawURL, u.Scheme)
	case u.Host == "":
		return Server{}, fmt.Errorf("--http %q: no host", rawURL)
	case u.Hostname() == "":
		u.Host = "127.0.0.1" + u.Host // :8787, as serve --http binds it
	case u.User != nil:
		return Server{}, errors.New("--http: the URL carries credentials; the bearer token belongs in $" + TokenEnv + ", never in a config file")
	case u.RawQuery != "" || u.Fragment != "":
		return Server{}, fmt.Errorf("--http %q: a query or fragment has no place in the server's URL", rawURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/mcp"
	}
	return Server{URL: u.String(), TokenEnv: TokenEnv}, nil
}

// IsHTTP reports whether the entry is for streamable HTTP.
func (s Server) IsHTTP() bool { return s.URL != "" }

// DefaultFile is the file --install writes for client when no --file is
// given: Claude Code's user configuration (~/.claude.json, or the one in
// $CLAUDE_CONFIG_DIR), whose mcpServers apply in every project, as
// `claude mcp add --scope user` writes them; Codex's config.toml in
// $CODEX_HOME or ~/.codex.
func DefaultFile(c Client, env map[string]string) (string, error) {
	home := env["HOME"]
	switch c {
	case Claude:
		if d := env["CLAUDE_CONFIG_DIR"]; d != "" {
			return filepath.Join(d, ".claude.json"), nil
		}
		if home == "" {
			return "", errors.New("claude: no HOME to find ~/.claude.json in; give --file")
		}
		return filepath.Join(home, ".claude.json"), nil
	case Codex:
		if d := env["CODEX_HOME"]; d != "" {
			return filepath.Join(d, "config.toml"), nil
		}
		if home == "" {
			return "", errors.New("codex: no HOME to find ~/.codex/config.toml in; give --file")
		}
		return filepath.Join(home, ".codex", "config.toml"), nil
	}
	return "", fmt.Errorf("unknown client %q", c)
}
