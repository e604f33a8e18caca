package docker

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/creack/pty"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Paths inside the container.
const (
	initPath  = "/.bot-bottle/init" // the bind-mounted static bot-bottle binary
	agentHome = "/root"             // the agent's home, a tmpfs
)

// Start creates and starts the bottle's container and attaches its stdio.
func (b *Backend) Start(ctx context.Context, spec *launcher.Spec) (launcher.Process, error) {
	exe, err := b.executable()
	if err != nil {
		return nil, err
	}
	cli, err := b.Client()
	if err != nil {
		return nil, err
	}
	runtime := spec.Runtime
	if runtime == "" {
		if runtime, err = b.ChooseRuntime(ctx, schemas.RuntimeAuto); err != nil {
			return nil, err
		}
	}
	res, resWarnings, err := runtimeResources(spec.Resources, runtime)
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	image := spec.Image
	if image == "" {
		if image, err = b.defaultImage(ctx, cli); err != nil {
			return nil, fmt.Errorf("docker backend: %w", err)
		}
	}
	info, err := inspectImage(ctx, cli, image)
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	runAs, err := containerUser(spec.Workdir, info.user)
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	homeOpts, user, err := homeOptions(image, runAs.String())
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	if spec.AgentHome != "" {
		if err := ownKeptHome(spec.AgentHome, runAs.uid, runAs.gid); err != nil {
			return nil, fmt.Errorf("docker backend: %w", err)
		}
	}
	cfg := spec.Init
	// No setuid or setgid file from the bottle, whoever its files belong to.
	cfg.Filter = bottleinit.Filter{Setid: true, Kernel: true}
	cfg.Command = append(slices.Clone(info.entrypoint), cfg.Command...)
	cfg.Home = agentHome
	cfg.Env = completeEnv(cfg.Env, map[string]string{"HOME": agentHome, "PATH": info.path, "USER": user})
	data, err := cfg.Encode()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(spec.RunDir.SharedFile(launcher.InitConfigFile), data, 0o644); err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	initSource, err := initBinary(exe, spec.Workdir)
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	// The shared folder may be a link (see launcher.RunDir): bind what it
	// names, which is the path the container's mountinfo shows.
	sharedSource, err := filepath.EvalSymlinks(spec.RunDir.Shared())
	if err != nil {
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	workdirSource := spec.Workdir
	var hostMount string
	if os.Getuid() == 0 {
		if hostMount, err = hostWorkdir(spec.RunDir.Root, spec.Workdir, exe, runAs, runtime == schemas.RuntimeRunsc); err != nil {
			return nil, fmt.Errorf("docker backend: %w", err)
		}
		// Once the container runs it has its own copy; until then a
		// failure must not leave the workdir mounted in the run folder.
		defer detachHostMount(hostMount)
		workdirSource = hostMount
	}
	homeSource := spec.AgentHome
	var homeWarnings []string
	if os.Getuid() == 0 && spec.AgentHome != "" {
		var homeMount string
		if homeMount, homeWarnings, err = hostKeptHome(spec.RunDir.Root, spec.AgentHome); err != nil {
			return nil, fmt.Errorf("docker backend: %w", err)
		}
		defer detachHostMount(homeMount)
		homeSource = homeMount
	}
	tty := spec.Stdio.Terminal != nil
	ccfg := &container.Config{
		Image:        image,
		User:         runAs.String(),
		Hostname:     hostname(spec.BottleID),
		Entrypoint:   []string{initPath, launcher.InitCommand, "--config", launcher.InBottle(launcher.InitConfigFile)},
		Cmd:          []string{},
		Env:          cfg.Env,
		WorkingDir:   cfg.Dir,
		Labels:       labels(spec),
		Tty:          tty,
		AttachStdin:  spec.Stdio.In != nil,
		OpenStdin:    spec.Stdio.In != nil,
		StdinOnce:    spec.Stdio.In != nil,
		AttachStdout: true,
		AttachStderr: true,
	}
	hcfg := &container.HostConfig{
		// No network at all: the container has lo and nothing else, so the
		// forwarder to the proxy socket is its only way out.
		NetworkMode: "none",
		// runc, or gVisor's runsc: a kernel in user space between the
		// agent and the host's (see runtime.go).
		Runtime:        runtime,
		Mounts:         mounts(spec, sharedSource, initSource, workdirSource, homeSource),
		Tmpfs:          tmpfs(spec, homeOpts),
		ReadonlyRootfs: spec.ReadonlyRoot,
		// The init needs no capability (lo is already up, its ports are
		// unprivileged), and neither should the agent; it runs as a user
		// that is not root and can gain nothing by exec.
		Privileged:  false,
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		Resources:   resources(res),
	}
	hcfg.Mounts = append(hcfg.Mounts, protectMounts(spec.Protect, workdirSource)...)
	if tty {
		if ws, err := pty.GetsizeFull(spec.Stdio.Terminal); err == nil {
			hcfg.ConsoleSize = [2]uint{uint(ws.Rows), uint(ws.Cols)}
		}
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: ccfg, HostConfig: hcfg, Name: "bot-bottle-" + spec.BottleID,
	})
	if err != nil {
		return nil, fmt.Errorf("docker backend: create container: %w", err)
	}
	warnings, err := checkCreateWarnings(created.Warnings)
	if err != nil {
		_ = removeContainer(context.WithoutCancel(ctx), cli, created.ID)
		return nil, fmt.Errorf("docker backend: %w", err)
	}
	p := &process{cli: cli, id: created.ID, tty: tty, done: make(chan struct{}),
		limits: &limitWatch{res: res, warnings: append(append(resWarnings, warnings...), homeWarnings...)}}
	p.limits.watchOOM(cli, created.ID)
	if err := p.start(ctx, spec.Stdio); err != nil {
		p.limits.stop()
		_ = p.Release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("docker backend: start container %.12s (runtime %s): %w", created.ID, runtime, runtimeStartHint(runtime, err))
	}
	if tty {
		p.followResize(spec.Stdio.Terminal)
	}
	return p, nil
}

// followResize passes the owner's terminal size on to the container's tty.
func (p *process) followResize(term *os.File) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-winch:
				if ws, err := pty.GetsizeFull(term); err == nil {
					_, _ = p.cli.ContainerResize(context.Background(), p.id, client.ContainerResizeOptions{Height: uint(ws.Rows), Width: uint(ws.Cols)})
				}
			case <-p.done:
				return
			}
		}
	}()
}

// completeEnv adds HOME, PATH and USER where the plan did not set them: the
// container's own, never the host's.
func completeEnv(env []string, add map[string]string) []string {
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
	for _, k := range []string{"HOME", "PATH", "USER"} {
		if !have[k] && add[k] != "" {
			out = append(out, k+"="+add[k])
		}
	}
	return out
}

// hostname is the bottle id cut to the 63 bytes a hostname label allows.
func hostname(id string) string {
	if len(id) > 63 {
		return id[:63]
	}
	return id
}

// mounts are the container's host folders: the shared run folder, the init,
// the workdir and, when kept, the agent's home (from home).
func mounts(spec *launcher.Spec, shared, init, workdir, home string) []mount.Mount {
	out := []mount.Mount{
		{Type: mount.TypeBind, Source: shared, Target: launcher.InBottleDir, ReadOnly: true},
		{Type: mount.TypeBind, Source: init, Target: initPath, ReadOnly: true},
		{Type: mount.TypeBind, Source: workdir, Target: spec.Workdir},
	}
	if spec.AgentHome != "" {
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: home, Target: agentHome})
	}
	return out
}

// tmpfs are the container's empty folders: /tmp, and the agent's home
// unless it is kept.
func tmpfs(spec *launcher.Spec, homeOpts string) map[string]string {
	out := map[string]string{"/tmp": "mode=1777"}
	if spec.AgentHome == "" {
		out[agentHome] = homeOpts
	}
	return out
}
