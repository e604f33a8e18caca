package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
)

// hiddenDirs are covered by an empty tmpfs in every local bottle, besides
// the invoking user's home and the bot-bottle home. Each is here for what
// it holds:
var hiddenDirs = []string{
	"/root",               // root's home: credentials, shell history
	"/home",               // every user's home: ~/.codex/auth.json, ~/.ssh, rc files
	"/tmp",                // sockets (ssh-agent, X11) and other processes' files
	"/var/tmp",            // the same, longer lived
	"/run",                // runtime sockets: the Docker daemon, D-Bus, systemd
	"/var/run",            // the same where it is not a symlink to /run
	"/dev/shm",            // other processes' shared memory
	"/var/lib/docker",     // other containers' filesystems and volumes
	"/var/lib/containerd", // the same for containerd
	"/var/lib/lxd",        // LXD's socket: root on the host
	"/var/snap/lxd",       // the same, installed from a snap
	"/etc/shadow",         // password hashes (files are covered by /dev/null)
	"/etc/gshadow",
}

// hiddenGlobs are expanded on the host at launch and hidden like
// hiddenDirs.
var hiddenGlobs = []string{
	"/etc/ssh/ssh_host_*key", // the host's SSH identity
}

// Start writes the init config with the local backend's mounts and starts
// the init in its namespaces.
func (b *Backend) Start(ctx context.Context, spec *launcher.Spec) (launcher.Process, error) {
	exe, err := b.executable()
	if err != nil {
		return nil, err
	}
	cfg := spec.Init
	cfg.Hostname = spec.BottleID
	cfg.Nest = true
	cfg.Home = AgentHome(spec.HostHome)
	cfg.Env = completeEnv(cfg.Env, cfg.Home, spec.HostPath, spec.HostUser)
	hide := append([]string{spec.HostHome, spec.Home}, hiddenDirs...)
	for _, g := range hiddenGlobs {
		m, _ := filepath.Glob(g)
		hide = append(hide, m...)
	}
	cfg.Mounts = &bottleinit.Mounts{
		Hide:     nonEmpty(hide),
		FreshDev: true,
		Binds: []bottleinit.Bind{
			{Source: spec.Workdir, Target: spec.Workdir},
			{Source: spec.RunDir.Shared(), Target: launcher.InBottleDir, ReadOnly: true},
		},
		// A bottle of host root that could write /etc (cron, systemd units)
		// would not stay in its bottle: for root the rest is always
		// read-only.
		ReadonlyRoot: spec.ReadonlyRoot || os.Getuid() == 0,
	}
	cfgPath := spec.RunDir.SharedFile(launcher.InitConfigFile)
	args := append(append([]string{}, b.initArgs...), "--config", cfgPath)
	cmd := exec.Command(exe, args...)
	cmd.Env = []string{} // the init needs nothing from the host; the command's env is in cfg
	cmd.Dir = "/"
	cmd.SysProcAttr = sysProcAttr()
	lim, err := newLimits(spec, cmd.SysProcAttr.UidMappings[0].HostID)
	if err != nil {
		return nil, err
	}
	lim.configure(&cfg, cmd)
	p := &process{cmd: cmd, done: make(chan struct{}), lim: lim}
	if err := b.startInit(p, cfg, cfgPath, spec.Stdio); err != nil {
		_ = lim.release()
		return nil, err
	}
	return p, nil
}

// startInit writes the init config and starts the init, in its cgroups
// before it runs anything.
func (b *Backend) startInit(p *process, cfg bottleinit.Config, cfgPath string, stdio launcher.Stdio) error {
	data, err := cfg.Encode()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(cfgPath, data, 0o644); err != nil {
		return fmt.Errorf("local backend: %w", err)
	}
	if err := p.start(stdio); err != nil {
		return fmt.Errorf("local backend: start the bottle init: %w", err)
	}
	if err := p.lim.started(p.cmd.Process.Pid); err != nil {
		_ = p.cmd.Process.Kill()
		_, _ = p.Wait()
		return err
	}
	return nil
}

// AgentHome is the agent's home in a local bottle: the invoking user's home
// path, which the bottle sees as an empty tmpfs, so tools that remember
// absolute paths find them where they expect.
func AgentHome(hostHome string) string {
	if hostHome == "" {
		return "/root"
	}
	return filepath.Clean(hostHome)
}

// completeEnv adds what the launcher leaves to the backend: HOME (the agent
// home), and PATH and USER from the host (the local bottle runs the host's
// programs, as the host's user), each only when the plan did not set it.
func completeEnv(env []string, home, path, user string) []string {
	out := append([]string{}, env...)
	have := map[string]bool{}
	for _, kv := range env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				have[kv[:i]] = true
				break
			}
		}
	}
	add := func(k, v string) {
		if !have[k] && v != "" {
			out = append(out, k+"="+v)
		}
	}
	add("HOME", home)
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	add("PATH", path)
	if user == "" {
		user = strconv.Itoa(os.Getuid())
		if u, err := osuser.LookupId(user); err == nil {
			user = u.Username
		}
	}
	add("USER", user)
	return out
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, filepath.Clean(s))
		}
	}
	return out
}
