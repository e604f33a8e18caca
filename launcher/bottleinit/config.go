package bottleinit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Exit codes the init uses for its own failures, following the shell's
// conventions so a caller can tell them from the command's own codes.
const (
	ExitSetup       = 125 // the init could not build the bottle
	ExitNotRunnable = 126 // the command exists but cannot be executed
	ExitNotFound    = 127 // the command was not found
)

// Config is everything the init needs. The launcher writes it as JSON into
// the run folder the bottle can see; it holds no secret.
type Config struct {
	// Command is the argv of the agent's command; Command[0] is looked up in
	// the PATH of Env when it has no slash.
	Command []string `json:"command"`
	// Env is the command's complete environment, KEY=VALUE. The init's own
	// environment is never passed on.
	Env []string `json:"env"`
	// Dir is the command's working directory.
	Dir string `json:"dir"`
	// Home is the agent's home folder; Files are written under it.
	// Clean are folders of the home emptied before Files are written (an
	// agent's skills folder: it holds this launch's skills only).
	Home  string              `json:"home"`
	Clean []string            `json:"clean,omitempty"`
	Files []schemas.AgentFile `json:"files,omitempty"`
	// Hostname, when set, names the bottle's UTS namespace.
	Hostname string `json:"hostname,omitempty"`
	// NotFoundHint, when set, follows the error the init prints when the
	// command is not found: for an agent CLI, what to install or which
	// image to set.
	NotFoundHint string `json:"not_found_hint,omitempty"`
	// Forward lists the loopback ports relayed to unix sockets.
	Forward []Forward `json:"forward"`
	// TTY gives the command its stdin as controlling terminal in a new
	// session, so job control and ^C work in an interactive agent.
	TTY bool `json:"tty,omitempty"`
	// Rows and Cols are the owner's terminal size, given to a terminal that
	// has none yet.
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	// Mounts, when set, asks the init to build the filesystem view itself
	// (local backend). Docker builds it from the container's mounts instead.
	Mounts *Mounts `json:"mounts,omitempty"`
	// Nest runs the command in a nested user and mount namespace. The
	// mounts the init made then become locked for the command: as root of
	// its own namespace it still cannot unmount them to uncover what they
	// hide, nor ptrace the init.
	Nest bool `json:"nest,omitempty"`
	// Filter is the seccomp filter the command runs under.
	Filter Filter `json:"filter,omitempty"`
	// Gate, when set, is an inherited descriptor the init reads one byte
	// from before it does anything else: the owner writes it once the init
	// is in the bottle's cgroups (cgroup v1, where a process cannot be
	// started inside one). End of file instead means the owner could not,
	// and the init gives up.
	Gate int `json:"gate,omitempty"`
	// NProc, when set, is the RLIMIT_NPROC of the command: the local
	// backend's bound on tasks where no cgroup bounds them.
	NProc int64 `json:"nproc,omitempty"`
	// Cgroups, when set, asks the init to show the bottle its own cgroup,
	// read-only, at /sys/fs/cgroup (local backend; Docker mounts its own).
	Cgroups *Cgroups `json:"cgroups,omitempty"`
}

// Cgroups names the hierarchies in which the bottle has a cgroup of its
// own: the unified one (V2), or v1 hierarchies by their controller sets
// ("pids", "cpu,cpuacct").
type Cgroups struct {
	V2 bool     `json:"v2,omitempty"`
	V1 []string `json:"v1,omitempty"`
}

// Forward relays connections to 127.0.0.1:Port to the unix socket Socket,
// or, when FD is set, to the socket an inherited O_PATH descriptor names:
// the local backend passes its sockets that way, so the bottle needs
// neither the host path nor the right to walk it.
type Forward struct {
	Port   int    `json:"port"`
	Socket string `json:"socket,omitempty"`
	FD     int    `json:"fd,omitempty"`
}

// Mounts describes the local backend's filesystem view.
type Mounts struct {
	// Hide lists folders covered by an empty tmpfs (the host's homes, the
	// bot-bottle home, temporary folders, runtime sockets) and files
	// covered by /dev/null (password hashes, host keys).
	Hide []string `json:"hide"`
	// FreshDev replaces the host's /dev with one that holds only null,
	// zero, full, random, urandom, tty, a private devpts and shm.
	FreshDev bool `json:"fresh_dev,omitempty"`
	// Binds are mounted after Hide, so a workdir inside a hidden folder
	// comes back at its own path.
	Binds []Bind `json:"binds"`
	// ReadonlyRoot remounts every host mount read-only before Hide and
	// Binds are applied.
	ReadonlyRoot bool `json:"readonly_root,omitempty"`
	// Receive, when set, is an inherited unix socket on which the owner
	// sends one detached mount (open_tree) for each Bind with Received, in
	// order: an idmapped workdir is made by the owner, who alone may.
	Receive int `json:"receive,omitempty"`
	// Files are written after the mounts, at absolute paths inside a
	// hiding tmpfs (the bottle CA at /run/bot-bottle/ca.pem).
	Files []File `json:"files,omitempty"`
	// Protect is applied after Binds, inside the workdir's bind.
	Protect *Protect `json:"protect,omitempty"`
}

// File is one file Mounts.Files writes.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Mode    uint32 `json:"mode"`
}

// Bind mounts Source (a host path, opened before anything is hidden) at
// Target. FD, when set, is an inherited O_PATH descriptor of the source
// instead, and Received a detached mount sent on Mounts.Receive: either
// way the config names no host path. Kept marks the kept agent home,
// which the init mounts from Source as an overlay (KeptHomeMount) so that
// its mountinfo names no host path. Every bind is nosuid and nodev.
type Bind struct {
	Source   string `json:"source,omitempty"`
	FD       int    `json:"fd,omitempty"`
	Received bool   `json:"received,omitempty"`
	Kept     bool   `json:"kept,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Load reads a Config written by the launcher.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read init config: %w", err)
	}
	return decode(path, data)
}

// LoadFD reads a Config from an inherited descriptor (the local backend's
// way: no path of the config appears in the init's command line) and
// closes it.
func LoadFD(fd int) (*Config, error) {
	f := os.NewFile(uintptr(fd), "init config")
	if f == nil {
		return nil, fmt.Errorf("read init config: bad descriptor %d", fd)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read init config from descriptor %d: %w", fd, err)
	}
	return decode(fmt.Sprintf("descriptor %d", fd), data)
}

func decode(path string, data []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode init config %s: %w", path, err)
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		return nil, fmt.Errorf("init config %s: no command", path)
	}
	return &c, nil
}

// Encode returns the JSON form of c.
func (c *Config) Encode() ([]byte, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode init config: %w", err)
	}
	return data, nil
}
