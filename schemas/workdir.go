package schemas

import (
	"fmt"
	"strings"
)

// Workdir is the manifest's `workdir` key: which of the protected paths
// (ProtectedPaths) the bottle may write after all.
//
//	workdir:
//	  writable: [.vscode/]
//
// Everything in the workdir that is not protected is writable anyway, so
// naming any other path is an error rather than a silent no-op.
type Workdir struct {
	Writable []string `yaml:"writable" json:"writable,omitempty"`

	At         Location            `yaml:"-" json:"-"`
	KeyAt      map[string]Location `yaml:"-" json:"-"`
	WritableAt []Location          `yaml:"-" json:"-"`
}

// ProtectedPath is one entry of the list of workdir paths that are
// read-only inside every bottle, whether they exist or not: files and
// folders that the host later executes or trusts (git, editors, direnv,
// agents), so that nothing an agent plants there runs on the host as the
// operator.
type ProtectedPath struct {
	// Name is the path relative to the workdir, as written in
	// workdir.writable (a trailing / is allowed there).
	Name string
	// Why says what on the host would run or trust it.
	Why string
}

// ProtectedPaths is the list, at least as strict as the "mandatory deny"
// list of Anthropic's sandbox-runtime. The launcher applies each name at
// the workdir's root and to copies it finds in folders below; for the git
// entries it follows the repository's real layout (a .git file pointing
// elsewhere, core.hooksPath, included config files).
var ProtectedPaths = []ProtectedPath{
	{".git/hooks", "hooks your git runs on commit, checkout, merge, push (or core.hooksPath's folder)"},
	{".git/config", "git config: fsmonitor, hooksPath, sshCommand, filters, aliases, includes (and config.worktree)"},
	{".git/modules", "submodules' git folders, with their own hooks and configs"},
	{".gitmodules", "submodule paths and URLs your git clones and updates"},
	{".vscode", "VS Code tasks, launch configurations and settings"},
	{".idea", "JetBrains IDE run configurations and settings"},
	{".zed", "Zed tasks and settings (language server commands)"},
	{".cursor", "Cursor rules and MCP servers"},
	{".envrc", "direnv runs it when you enter the folder"},
	{".claude", "Claude Code settings, hooks, commands, agents and skills"},
	{".mcp.json", "MCP servers that Claude Code and other agents start"},
	{".codex", "Codex configuration: MCP servers and hooks"},
	{".gemini", "Gemini CLI settings and MCP servers"},
	{".gitconfig", "a git config, trusted if the folder is ever used as a home or included"},
	{".bashrc", "shell start-up file"},
	{".bash_profile", "shell start-up file"},
	{".profile", "shell start-up file"},
	{".zshrc", "shell start-up file"},
	{".zprofile", "shell start-up file"},
	{".ripgreprc", "ripgrep config (its --pre option runs a command)"},
	{".pre-commit-config.yaml", "pre-commit runs the hooks it names at your next git commit"},
	{".husky", "husky's hook scripts, which git runs on commit and push"},
	{"lefthook.yml", "lefthook runs the commands it names on git commit and push"},
	{".lefthook.yml", "lefthook runs the commands it names on git commit and push"},
	{"mise.toml", "mise runs its hooks and env scripts when you enter the folder"},
	{".mise.toml", "mise runs its hooks and env scripts when you enter the folder"},
	{".devcontainer", "VS Code and Codespaces build and run what it names when you reopen in a container"},
}

// IsProtectedName reports whether name is the Name of an entry of
// ProtectedPaths.
func IsProtectedName(name string) bool {
	for _, p := range ProtectedPaths {
		if p.Name == name {
			return true
		}
	}
	return false
}

// ProtectedNames lists the Names of ProtectedPaths, in order.
func ProtectedNames() []string {
	out := make([]string, len(ProtectedPaths))
	for i, p := range ProtectedPaths {
		out[i] = p.Name
	}
	return out
}

// WritableName returns the protected path an entry of workdir.writable
// names (the entry without its trailing /), or why it names none. The value
// is compared, never echoed: it is the operator's text, but keeping error
// messages free of values is the house rule.
func WritableName(entry string) (string, string) {
	name := strings.TrimSuffix(entry, "/")
	switch {
	case name == "":
		return "", "must name a protected path"
	case strings.HasPrefix(name, "/") || strings.HasPrefix(name, "~"):
		return "", "must be relative to the workdir, not an absolute path"
	case strings.Contains(name, `\`):
		return "", "must use / between folders, not a backslash"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", "must not contain control characters"
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "..":
			return "", "must not leave the workdir (no .. segments)"
		case ".", "":
			return "", "must be written without . or empty segments"
		}
	}
	if !IsProtectedName(name) {
		return "", "is not a protected path: the rest of the workdir is writable already"
	}
	return name, ""
}

func (w *Workdir) validate() Errors {
	var errs Errors
	first := map[string]int{}
	for i, entry := range w.Writable {
		at := itemAt(w.WritableAt, i, w.KeyAt["writable"])
		key := fmt.Sprintf("workdir.writable[%d]", i)
		name, why := WritableName(entry)
		if why != "" {
			hint := "protected paths: " + strings.Join(ProtectedNames(), ", ")
			if strings.TrimSuffix(entry, "/") == ".git" {
				hint = "the .git folder stays writable, git needs it: name .git/hooks, .git/config or .git/modules"
			} else if near := nearestName(strings.TrimSuffix(entry, "/")); near != "" {
				hint = fmt.Sprintf("did you mean %q?", near)
			}
			errs = append(errs, &Error{At: at, Key: key, Msg: why, Hint: hint})
			continue
		}
		if j, dup := first[name]; dup {
			errs = append(errs, &Error{At: at, Key: key, Msg: fmt.Sprintf("names %s again (first as workdir.writable[%d])", name, j)})
			continue
		}
		first[name] = i
	}
	return errs
}

// nearestName returns the protected name closest to a misspelt or
// mis-rooted entry (`./.vscode`, `.git/hook`, `/repo/.idea`), or "".
func nearestName(got string) string {
	got = strings.TrimLeft(strings.TrimPrefix(got, "./"), "/")
	best, bestDist := "", 1<<30
	for _, n := range ProtectedNames() {
		d := editDistance(got, n)
		if strings.HasSuffix(got, "/"+n) {
			d = 1
		}
		if d < bestDist {
			best, bestDist = n, d
		}
	}
	if bestDist <= max(2, len(got)/4) {
		return best
	}
	return ""
}
