package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/gitgate"
	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/sys/unix"
)

// Launch plans the bottle o.Name, starts its proxy and its command, and
// returns once the command runs. The bottle then lives on its own until its
// command exits or it is stopped; Wait and Done report the end. Nothing is
// started when the backend cannot work here, the plan fails, or a token is
// missing; a failure after that removes everything that was started.
func (l *Launcher) Launch(ctx context.Context, o Options) (*Bottle, error) {
	be, err := l.backend(o.Backend)
	if err != nil {
		return nil, err
	}
	if err := be.Check(ctx); err != nil {
		return nil, err
	}
	l.reapOrphans(be)
	plan, err := l.plan(&o)
	if err != nil {
		return nil, err
	}
	tokens, err := l.cfg.Planner.Tokens(plan, l.cfg.HostEnv)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	hostSecrets, err := hostSecrets(plan, tokens, l.cfg.HostEnv)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	gitRepos, err := gitGateRepos(plan, l.cfg.HostEnv)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	command := o.Command
	if o.Prompt != "" {
		if len(command) > 0 {
			return nil, fmt.Errorf("launch %s: a prompt and a command exclude each other", o.Name)
		}
		if command, err = planner.PromptCommand(plan, o.Prompt); err != nil {
			return nil, fmt.Errorf("launch %s: %w", o.Name, err)
		}
	}
	if len(command) == 0 && plan.Provider != nil {
		command = plan.Provider.Command
	}
	if len(command) == 0 {
		return nil, fmt.Errorf("launch %s: no command: give one after -- or set agent_provider.command", o.Name)
	}
	workdir, err := l.checkWorkdir(o.Workdir)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	if o.Agent != "" && workdir != o.Workdir {
		return nil, fmt.Errorf("launch %s: planner bug: the agent was planned for %s, not the workdir %s", o.Name, o.Workdir, workdir)
	}
	rt, err := chooseRuntime(ctx, be, plan.Runtime)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	id, err := NewID(plan.Bottle)
	if err != nil {
		return nil, err
	}
	agentHome := AgentHomePath(l.cfg.Home, keptHomeName(plan), workdir)
	// Taken before --fresh empties the home: another running bottle's
	// home is left alone.
	lock, holder, err := lockAgentHome(agentHome, id)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	keptHome := agentHome
	if lock == nil {
		keptHome = ""
	} else if err := prepareAgentHome(agentHome, o.Fresh); err != nil {
		lock.release()
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	owner := l.owner
	rd := RunDirOf(l.cfg.Home, id)
	b := newBottle(l, plan, Info{ID: id, Name: plan.Bottle, Backend: be.Name(), Runtime: rt, Owner: owner, RunDir: rd.Root, Workdir: workdir, AgentHome: keptHome}, rd)
	b.homeLock = lock
	if lock == nil {
		b.home = rd.TempHome()
		b.homeNotice = notKeptNotice(plan.Bottle, agentHome, holder)
	} else {
		b.home = agentHome
	}
	// Stop requests are followed from before the bottle is announced, so
	// that none for it can be missed.
	b.watchStops(ctx)
	// The lease before the record: another machine never sees the
	// bottle without it, so never takes it for lost.
	l.lease(ctx, b)
	if err := b.record(ctx, schemas.StateStarting); err != nil {
		l.release(b)
		b.stopWatching()
		return nil, fmt.Errorf("launch %s: the event store cannot record the bottle, so nothing was started: %w", o.Name, err)
	}
	if _, err := CreateRunDir(l.cfg.Home, RunRecord{ID: id, Name: plan.Bottle, Backend: be.Name(), Owner: owner,
		Workdir: workdir, Started: time.Now()}); err != nil {
		err = fmt.Errorf("run folder: %w", err)
		b.abort(err)
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	if b.homeLock == nil {
		if err := prepareAgentHome(b.home, false); err != nil {
			b.abort(err)
			return nil, fmt.Errorf("launch %s: %w", o.Name, err)
		}
	}
	if err := b.start(ctx, be, o, command, tokens, hostSecrets, gitRepos); err != nil {
		b.abort(err)
		return nil, fmt.Errorf("launch %s: %w", o.Name, err)
	}
	return b, nil
}

// start does the part of a launch that leaves something to tear down.
func (b *Bottle) start(ctx context.Context, be Backend, o Options, command []string, tokens map[string]schemas.Secret, hostSecrets []schemas.Secret,
	gitRepos []gitgate.Repo) error {
	l := b.l
	ca, err := egressproxy.NewCA()
	if err != nil {
		return err
	}
	// The certificate only: the key stays in this process's memory.
	if err := atomicfile.Write(b.rd.SharedFile(CACertFile), ca.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("write the bottle CA: %w", err)
	}
	pcfg := l.cfg.Proxy
	pcfg.Bottle, pcfg.Routes, pcfg.Tokens, pcfg.CA, pcfg.Publisher = b.info.ID, b.plan.RoutesFile(), tokens, ca, l.cfg.Publisher
	pcfg.HostSecrets = hostSecrets
	if pcfg.Logger == nil {
		pcfg.Logger = l.log
	}
	if b.proxy, err = egressproxy.New(pcfg); err != nil {
		return err
	}
	sock := b.rd.SharedFile(ProxySocket)
	ln, err := egressproxy.Listen("unix:" + sock)
	if err != nil {
		return err
	}
	// The run folder (0700) keeps other host users out; inside the bottle,
	// whatever user the image runs as must be able to connect.
	if err := os.Chmod(sock, 0o666); err != nil {
		ln.Close()
		return fmt.Errorf("proxy socket: %w", err)
	}
	go func() { _ = b.proxy.Serve(ln) }()
	if b.gate, err = b.startGitGate(gitRepos, tokens, hostSecrets); err != nil {
		return err
	}
	if o.OnProxy != nil {
		if err := o.OnProxy(b); err != nil {
			return err
		}
	}
	if b.surface, err = serveSurface(b.rd.SharedFile(MCPSocket), b.info.ID, o.AgentSurface); err != nil {
		return err
	}
	if b.out, err = openOutputLog(b.rd.OutputLog(), l.cfg.LogLimit); err != nil {
		return err
	}
	spec := l.spec(b, be, o, command)
	if spec.Protect, err = b.protectWorkdir(ctx); err != nil {
		return err
	}
	proc, err := be.Start(ctx, spec)
	if err != nil {
		return err
	}
	containerID := proc.ContainerID()
	b.setProcess(proc, containerID)
	b.backendWarnings(proc)
	if containerID != "" {
		rec, _ := readRecord(b.rd)
		rec.ContainerID = proc.ID()
		if err := writeRecord(b.rd, rec); err != nil {
			l.log.Warn("update run record", "bottle", b.info.ID, "err", err)
		}
	}
	l.track(b)
	b.publish(ctx, schemas.StateRunning, nil, "")
	l.flush(ctx)
	go b.run()
	return nil
}

// spec builds what the backend starts: the command, its environment (the
// plan's env with launch values filled, plus TERM for a terminal) and the
// forwarders.
func (l *Launcher) spec(b *Bottle, be Backend, o Options, command []string) *Spec {
	values := planner.LaunchValues{
		ProxyURL: "http://127.0.0.1:" + strconv.Itoa(DefaultProxyPort),
		CAFile:   InBottle(CACertFile),
		BottleID: b.info.ID,
		MCPURL:   "http://127.0.0.1:" + strconv.Itoa(DefaultMCPPort) + "/mcp",
		Workdir:  b.info.Workdir,
	}
	forward := []bottleinit.Forward{
		{Port: DefaultProxyPort, Socket: InBottle(ProxySocket)},
		{Port: DefaultMCPPort, Socket: InBottle(MCPSocket)},
	}
	if b.gate != nil {
		values.GitGateURL = "http://127.0.0.1:" + strconv.Itoa(DefaultGitGatePort)
		forward = append(forward, bottleinit.Forward{Port: DefaultGitGatePort, Socket: InBottle(GitSocket)})
	}
	env := planner.AgentEnv(b.plan, values)
	stdio := o.Stdio
	if stdio.Terminal != nil {
		term := l.cfg.HostEnv["TERM"]
		if term == "" || strings.ContainsAny(term, "/ ") {
			term = "xterm-256color"
		}
		env = append(env, "TERM="+term)
	}
	stdio.Out = tee{log: b.out, w: stdio.Out}
	stdio.Err = tee{log: b.out, w: stdio.Err}
	var rows, cols uint16
	if stdio.Terminal != nil {
		if ws, err := unix.IoctlGetWinsize(int(stdio.Terminal.Fd()), unix.TIOCGWINSZ); err == nil {
			rows, cols = ws.Row, ws.Col
		}
	}
	image := ""
	if b.plan.Provider != nil {
		image = b.plan.Provider.Image
	}
	return &Spec{
		BottleID: b.info.ID,
		Home:     l.cfg.Home,
		Owner:    b.info.Owner,
		Init: bottleinit.Config{
			Command:      command,
			Env:          env,
			Dir:          b.info.Workdir,
			Files:        planner.AgentFiles(b.plan, values),
			Clean:        planner.AgentCleanDirs(b.plan),
			Forward:      forward,
			TTY:          stdio.Terminal != nil,
			Rows:         rows,
			Cols:         cols,
			NotFoundHint: notFoundHint(b.plan, be.Name(), command),
		},
		RunDir:       b.rd,
		Workdir:      b.info.Workdir,
		AgentHome:    b.home,
		ReadonlyRoot: o.ReadonlyRoot,
		HostHome:     l.cfg.HostEnv["HOME"],
		Hide:         hiddenPaths(b.plan),
		HostPath:     l.cfg.HostEnv["PATH"],
		HostUser:     l.cfg.HostEnv["USER"],
		Image:        image,
		Resources:    b.plan.Resources,
		Runtime:      b.info.Runtime,
		Stdio:        stdio,
	}
}

// checkWorkdir resolves the workdir and refuses one that would put the
// host's secrets back in view: the whole filesystem, a folder that holds
// the host's home or the bot-bottle home, or one inside the bot-bottle home.
func (l *Launcher) checkWorkdir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("no workdir")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("workdir %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("workdir %s: %w", dir, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("workdir %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("workdir %s: not a folder", dir)
	}
	guard := func(what, p string) error {
		if p == "" {
			return nil
		}
		if rp, err := filepath.EvalSymlinks(p); err == nil {
			p = rp
		}
		if within(p, real) {
			return fmt.Errorf("workdir %s holds %s %s, which a bottle must not see: pick the project folder itself", real, what, p)
		}
		if within(real, p) && what == "the bot-bottle home" {
			return fmt.Errorf("workdir %s is inside the bot-bottle home %s: pick a project folder elsewhere", real, p)
		}
		return nil
	}
	if real == "/" {
		return "", errors.New("workdir is /: pick the project folder itself")
	}
	if err := guard("the bot-bottle home", l.cfg.Home); err != nil {
		return "", err
	}
	if err := guard("your home", l.cfg.HostEnv["HOME"]); err != nil {
		return "", err
	}
	return real, nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// plan plans the bottle of o: o.Name, or the agent o.Agent's, whose
// repository agents and skills are those of the workdir. For an agent, the
// workdir is resolved first (and o.Workdir set to it) so the plan reads
// the repository the bottle will see; o.Name becomes the bottle's name.
func (l *Launcher) plan(o *Options) (*schemas.Plan, error) {
	if o.Agent == "" {
		return l.cfg.Planner.Plan(o.Name)
	}
	workdir, err := l.checkWorkdir(o.Workdir)
	if err != nil {
		return nil, fmt.Errorf("launch --agent %s: %w", o.Agent, err)
	}
	plan, err := l.cfg.Planner.PlanAgent(o.Agent, workdir)
	if err != nil {
		return nil, fmt.Errorf("launch --agent %s: %w", o.Agent, err)
	}
	if o.Name != "" && o.Name != plan.Bottle {
		return nil, fmt.Errorf("launch --agent %s: the agent runs in the bottle %s, not %s: give the agent alone", o.Agent, plan.Bottle, o.Name)
	}
	o.Name, o.Workdir = plan.Bottle, workdir
	return plan, nil
}
