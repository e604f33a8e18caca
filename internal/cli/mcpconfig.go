package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/hostconfig"
	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/spf13/cobra"
)

type mcpConfigOptions struct {
	httpURL string
	install bool
	file    string
}

func newMCPConfigCmd(c *cli) *cobra.Command {
	var o mcpConfigOptions
	cmd := &cobra.Command{
		Use:   "mcp-config claude|codex [--http URL] [--install [--file PATH]]",
		Short: "Print (or install) the MCP client config that gives Claude Code or Codex bot-bottle's operator tools",
		Long: `mcp-config prints what Claude Code or Codex needs to use bot-bottle's operator
surface (plan, launch, stop and review bottles): by default over stdio, the
client starting this binary as "bot-bottle serve"; with --http URL, the
streamable HTTP endpoint of a running "bot-bottle serve --http", with the
bearer token taken from $BOT_BOTTLE_TOKEN where the client runs. The token
itself is never written anywhere.

--install writes it: into Claude Code's user config (~/.claude.json, whose
mcpServers apply in every project) or Codex's ~/.codex/config.toml; --file
picks another file of the same kind (a project's .mcp.json, say). The merge
changes bot-bottle's entry and nothing else: other servers, unknown keys,
order, comments and layout stay. A file that does not parse is refused with
the position of the problem; installing twice changes nothing.`,
		Example: `  bot-bottle mcp-config claude
  bot-bottle mcp-config codex --install
  bot-bottle mcp-config claude --http http://127.0.0.1:8787/mcp --install --file .mcp.json`,
		Args:      oneOfArgs("mcp-config", "client", []string{"claude", "codex"}),
		ValidArgs: []string{"claude", "codex"},
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hostconfig.ParseClient(args[0])
			if err != nil {
				return &usageError{msg: "mcp-config: " + err.Error()}
			}
			if o.file != "" && !o.install {
				return &usageError{msg: "mcp-config: --file goes with --install"}
			}
			return c.mcpConfig(client, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.httpURL, "http", "", "connect to a running bot-bottle serve --http at this URL (e.g. http://127.0.0.1:8787/mcp) instead of starting bot-bottle over stdio")
	f.BoolVar(&o.install, "install", false, "write the entry into the client's config file instead of printing it")
	f.StringVar(&o.file, "file", "", "with --install: the file to write (default ~/.claude.json for claude, ~/.codex/config.toml for codex)")
	return cmd
}

func (c *cli) mcpConfig(client hostconfig.Client, o mcpConfigOptions) error {
	s, err := c.operatorServer(o.httpURL)
	if err != nil {
		return err
	}
	if o.install {
		path := o.file
		if path == "" {
			if path, err = hostconfig.DefaultFile(client, c.env); err != nil {
				return err
			}
		} else if !filepath.IsAbs(path) {
			path = filepath.Join(c.workDir, path)
		}
		res, err := hostconfig.Install(client, path, s)
		if err != nil {
			return err
		}
		switch {
		case res.Created:
			fmt.Fprintf(c.stdout, "created %s with the %s server\n", res.Path, hostconfig.ServerName)
		case res.Changed:
			fmt.Fprintf(c.stdout, "updated the %s server in %s\n", hostconfig.ServerName, res.Path)
		default:
			fmt.Fprintf(c.stdout, "%s already has this %s server; nothing to do\n", res.Path, hostconfig.ServerName)
		}
		c.printTokenNote(s)
		return nil
	}
	return c.printMCPConfig(client, s)
}

// operatorServer describes this binary's operator surface: stdio by
// default, or the HTTP endpoint given.
func (c *cli) operatorServer(httpURL string) (hostconfig.Server, error) {
	if httpURL != "" {
		return hostconfig.HTTP(httpURL)
	}
	exe, err := selfPath(c.env["PATH"])
	if err != nil {
		return hostconfig.Server{}, err
	}
	home := ""
	if c.env[hostconfig.HomeEnv] != "" {
		if home, err = planner.DefaultHome(c.env); err != nil {
			return hostconfig.Server{}, err
		}
		if home, err = filepath.Abs(home); err != nil {
			return hostconfig.Server{}, fmt.Errorf("%s: %w", hostconfig.HomeEnv, err)
		}
	}
	return hostconfig.Stdio(exe, home)
}

// selfPath is the absolute path of this binary, as the PATH names it when
// it does (/usr/local/bin/bot-bottle survives an upgrade that replaces the
// file it links to), else as the kernel does.
func selfPath(pathEnv string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the bot-bottle binary: %w", err)
	}
	self, err := os.Stat(exe)
	if err != nil {
		return "", fmt.Errorf("find the bot-bottle binary: %w", err)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, "bot-bottle")
		if fi, err := os.Stat(p); err == nil && os.SameFile(fi, self) {
			if lp, err := exec.LookPath(p); err == nil {
				return lp, nil
			}
		}
	}
	return exe, nil
}

func (c *cli) printMCPConfig(client hostconfig.Client, s hostconfig.Server) error {
	w := c.stdout
	how := "over stdio: the client starts " + s.Command + " serve"
	if s.IsHTTP() {
		how = "over streamable HTTP at " + s.URL
	}
	switch client {
	case hostconfig.Claude:
		fmt.Fprintf(w, "# Claude Code: bot-bottle's operator surface %s.\n", how)
		fmt.Fprintf(w, "# Register it for every project (user scope):\n%s\n\n", hostconfig.ClaudeCommand(s))
		fmt.Fprintf(w, "# Or put this entry in a project's .mcp.json, or in ~/.claude.json\n")
		fmt.Fprintf(w, "# (bot-bottle mcp-config claude --install writes ~/.claude.json):\n")
	case hostconfig.Codex:
		fmt.Fprintf(w, "# Codex: bot-bottle's operator surface %s.\n", how)
		fmt.Fprintf(w, "# Register it:\n%s\n\n", hostconfig.CodexCommand(s))
		fmt.Fprintf(w, "# Or add this table to ~/.codex/config.toml\n")
		fmt.Fprintf(w, "# (bot-bottle mcp-config codex --install writes it):\n")
	}
	if _, err := w.Write(hostconfig.Render(client, s)); err != nil {
		return err
	}
	if client == hostconfig.Codex && !s.IsHTTP() {
		fmt.Fprintf(w, "\n# Codex gives a stdio server only a few variables of its own environment\n"+
			"# (HOME, PATH, ...). Bottles read their credentials from host variables\n"+
			"# (token_ref): list those in the table, e.g. env_vars = [\"GITHUB_TOKEN\"].\n")
	}
	c.printTokenNote(s)
	return nil
}

// printTokenNote tells an HTTP user where the client finds the token.
func (c *cli) printTokenNote(s hostconfig.Server) {
	if !s.IsHTTP() {
		return
	}
	where := "$BOT_BOTTLE_HOME/" + mcp.TokenFileName
	if p, err := c.planner(); err == nil {
		where = mcp.TokenPath(p.Home)
	}
	fmt.Fprintf(c.stdout, "\n# The client sends $%s as its bearer token: set it where the client runs,\n"+
		"# to the token serve --http uses (by default the one in %s):\n#   export %s=\"$(cat %s)\"\n",
		s.TokenEnv, where, s.TokenEnv, shellPath(where))
}

// shellPath quotes a path for the example command line.
func shellPath(p string) string {
	if strings.ContainsAny(p, " '\"$`\\") {
		return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
	}
	return p
}
