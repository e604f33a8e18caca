package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"
)

// serverName is the bottle's MCP server in the agent's config.
const serverName = "bot-bottle"

// mcpURL reads the bottle's MCP server from the file the real CLI reads.
func mcpURL(name string) (string, error) {
	home := os.Getenv("HOME")
	if name == "claude" {
		path := filepath.Join(home, ".claude.json")
		data, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		var cfg struct {
			MCPServers map[string]struct {
				Type string `json:"type"`
				URL  string `json:"url"`
			} `json:"mcpServers"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		srv, ok := cfg.MCPServers[serverName]
		if !ok || srv.Type != "http" {
			return "", fmt.Errorf("%s: no http server %s", path, serverName)
		}
		return srv.URL, nil
	}
	dir := os.Getenv("CODEX_HOME")
	if dir == "" {
		dir = filepath.Join(home, ".codex")
	}
	path := filepath.Join(dir, "config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var cfg struct {
		MCPServers map[string]struct {
			URL string `toml:"url"`
		} `toml:"mcp_servers"`
	}
	if err := toml.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	srv, ok := cfg.MCPServers[serverName]
	if !ok || srv.URL == "" {
		return "", fmt.Errorf("%s: no [mcp_servers.%s] url", path, serverName)
	}
	return srv.URL, nil
}

// authToken is the credential the real CLI would send: a placeholder in a
// bottle.
func authToken(name string) (string, error) {
	if name == "claude" {
		tok := os.Getenv("CLAUDE_CODE_OAUTH_TOKEN")
		if tok == "" {
			return "", fmt.Errorf("no CLAUDE_CODE_OAUTH_TOKEN")
		}
		return tok, nil
	}
	path := filepath.Join(os.Getenv("HOME"), ".codex", "auth.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var auth struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(data, &auth); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return auth.Tokens.AccessToken, nil
}
