package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	osuser "os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

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
	"/srv",                // data the host serves
	"/mnt",                // file systems the host mounted: disks, shares, backups
	"/media",              // the same, removable
	"/var/backups",        // copies of the host's account and package files
	"/var/log",            // what every service logged: commands, hosts, sometimes tokens
	"/var/mail",           // users' mail
	"/var/spool",          // mail, cron tables and print jobs queued
	"/etc/ssl/private",    // TLS keys (the ssl-cert group reads them)
	"/etc/shadow",         // password hashes (files are covered by /dev/null)
	"/etc/gshadow",
}

// hiddenGlobs are expanded on the host at launch and hidden like
// hiddenDirs.
var hiddenGlobs = []string{
	"/etc/ssh/ssh_host_*key", // the host's SSH identity
}

// Start writes the init config with the local backend's mounts and starts
// the init in its namespaces. The init gets its config, the proxy and
// agent-surface sockets and (for a root owner) its bind sources as
// descriptors, so that neither its command line nor anything the bottle
// can read names a host path but the workdir's.
func (b *Backend) Start(ctx context.Context, spec *launcher.Spec) (launcher.Process, error) {
	id, err := bottleIdentity(spec.Workdir, spec.BottleID)
	if err != nil {
		return nil, err
	}
	var ex extraFiles
	defer ex.close()
	p, err := b.start(spec, id, &ex)
	if err != nil {
		id.release()
		if b.probeSkipped {
			// The machine may have changed since the probe was
			// remembered: probe now, so the error says what is wrong.
			b.forgetProbe()
			if perr := b.probe(ctx); perr != nil {
				return nil, fmt.Errorf("%w (start the bottle init: %v)", perr, err)
			}
		}
		return nil, err
	}
	return p, nil
}

func (b *Backend) start(spec *launcher.Spec, id identity, ex *extraFiles) (*process, error) {
	self, err := b.openInit(ex)
	if err != nil {
		return nil, err
	}
	cfg := spec.Init
	cfg.Hostname = spec.BottleID
	cfg.Nest = true
	cfg.Home = AgentHome(spec.HostHome)
	hide := append([]string{spec.HostHome, spec.Home}, hiddenDirs...)
	for _, g := range hiddenGlobs {
		m, _ := filepath.Glob(g)
		hide = append(hide, m...)
	}
	asked, err := manifestHidden(spec.Hide, spec.Workdir)
	if err != nil {
		return nil, err
	}
	hide = nonEmpty(append(hide, asked...))
	cfg.Env = completeEnv(cfg.Env, cfg.Home, bottlePath(spec.HostPath, hide, spec.Workdir), spec.HostUser)
	// No bottle leaves a setuid or setgid file; where its files are root's
	// on disk, no file capability either.
	cfg.Filter = bottleinit.Filter{Setid: true, Xattr: id.idmap, Kernel: true}
	cfg.Forward = append([]bottleinit.Forward{}, cfg.Forward...)
	for i, f := range cfg.Forward {
		fd, err := ex.openPath(spec.RunDir.SharedFile(path.Base(f.Socket)))
		if err != nil {
			return nil, fmt.Errorf("local backend: socket for port %d: %w", f.Port, err)
		}
		cfg.Forward[i] = bottleinit.Forward{Port: f.Port, FD: fd}
	}
	cfg.Mounts = &bottleinit.Mounts{
		Hide:     hide,
		FreshDev: true,
		Binds:    binds(spec, cfg.Home),
		// A bottle that could write /etc (cron, systemd units) would not
		// stay in its bottle: for a root owner the rest is always
		// read-only.
		ReadonlyRoot: spec.ReadonlyRoot || os.Getuid() == 0,
		Protect:      spec.Protect,
	}
	if ca, err := os.ReadFile(spec.RunDir.SharedFile(launcher.CACertFile)); err == nil {
		cfg.Mounts.Files = append(cfg.Mounts.Files, bottleinit.File{Path: launcher.InBottle(launcher.CACertFile), Content: string(ca), Mode: 0o644})
	}
	var sends []hostBind
	var ownerEnd *os.File
	if id.rootOwner {
		// The init runs as an id that may not walk root's folders: the
		// owner opens every bind source and sends it as a detached mount.
		var initEnd *os.File
		var err error
		if ownerEnd, initEnd, err = socketPair(); err != nil {
			return nil, fmt.Errorf("local backend: %w", err)
		}
		defer ownerEnd.Close()
		cfg.Mounts.Receive = ex.add(initEnd)
		for i, bd := range cfg.Mounts.Binds {
			// The workdir and the kept agent home hold the owner's files,
			// which the bottle's root sees as its own.
			kept := bd.Kept
			owned := bd.Target == spec.Workdir || kept
			sends = append(sends, hostBind{source: bd.Source, readOnly: bd.ReadOnly, idmap: id.idmap && owned, kept: kept})
			cfg.Mounts.Binds[i] = bottleinit.Bind{Received: true, Target: bd.Target, ReadOnly: bd.ReadOnly}
		}
	}
	lim, err := newLimits(spec, id.uid)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = lim.release()
		}
	}()
	sp, err := b.spawner()
	if err != nil {
		return nil, err
	}
	lim.configureInit(&cfg, ex)
	data, err := cfg.Encode()
	if err != nil {
		return nil, err
	}
	cfgFile, err := writeConfig(spec.RunDir, data)
	if err != nil {
		return nil, err
	}
	cfgFD := ex.add(cfgFile)
	args := append(append([]string{}, b.initArgs...), "--config-fd", strconv.Itoa(cfgFD))
	cmd := exec.Command(self, args...)
	cmd.Args[0] = "bot-bottle" // the bottle sees no host path in /proc/1/cmdline
	cmd.Env = []string{}       // the init needs nothing from the host; the command's env is in cfg
	cmd.Dir = "/"
	cmd.ExtraFiles = ex.files
	cmd.SysProcAttr = sysProcAttr(id)
	lim.configureCmd(cmd)
	p := &process{cmd: cmd, sp: sp, done: make(chan struct{}), id: id, lim: lim}
	if err := p.start(spec.Stdio); err != nil {
		return nil, fmt.Errorf("local backend: start the bottle init: %w", err)
	}
	// In its cgroups (cgroup v1: the init waits at its gate until then)
	// before it receives its mounts and starts anything.
	if err := lim.started(p.ch.pid()); err != nil {
		_ = p.ch.signal(syscall.SIGKILL)
		_, _ = p.Wait()
		return nil, err
	}
	if len(sends) > 0 {
		if p.mountWarnings, err = sendMounts(p.ch.pid(), id.uid, id.gid, sends, ownerEnd); err != nil {
			_ = p.ch.signal(syscall.SIGKILL)
			_, _ = p.Wait()
			return nil, fmt.Errorf("local backend: %w", err)
		}
	} else if spec.AgentHome != "" && !bottleinit.KeptOverlayExpected() {
		// The init makes the overlay, or binds the home where it cannot.
		p.mountWarnings = []string{bottleinit.KeptHomeBoundWarning}
	}
	started = true
	return p, nil
}

// binds are the local bottle's host folders: the kept agent home first
// (over the hidden host home, where the agent's HOME is), then the workdir.
func binds(spec *launcher.Spec, home string) []bottleinit.Bind {
	var out []bottleinit.Bind
	if spec.AgentHome != "" {
		out = append(out, bottleinit.Bind{Source: spec.AgentHome, Target: home, Kept: true})
	}
	return append(out, bottleinit.Bind{Source: spec.Workdir, Target: spec.Workdir})
}

// writeConfig writes the init config beside the run folder's record, where
// the bottle does not see it, and returns it opened for reading.
func writeConfig(rd launcher.RunDir, data []byte) (*os.File, error) {
	p := filepath.Join(rd.Root, launcher.InitConfigFile)
	if err := atomicfile.Write(p, data, 0o600); err != nil {
		return nil, fmt.Errorf("local backend: %w", err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("local backend: %w", err)
	}
	return f, nil
}

// bottlePath is the host's PATH without the folders the bottle cannot see
// (under a hidden folder, unless inside the workdir, which is bound back)
// or that do not exist, so that it names no host path the bottle has no
// use for.
func bottlePath(hostPath string, hidden []string, workdir string) string {
	var keep []string
	seen := map[string]bool{}
	for _, d := range filepath.SplitList(hostPath) {
		d = filepath.Clean(d)
		if !filepath.IsAbs(d) || seen[d] {
			continue
		}
		seen[d] = true
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() || (isHidden(d, hidden) && !isHidden(d, []string{workdir})) {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, ":")
}

func isHidden(p string, hidden []string) bool {
	for _, h := range hidden {
		if p == h || strings.HasPrefix(p, h+"/") {
			return true
		}
	}
	return false
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
