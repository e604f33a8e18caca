package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newLaunchCmd(c *cli) *cobra.Command {
	var o launcher.Options
	var pf proxyFlags
	cmd := &cobra.Command{
		Use:   "launch NAME [flags] [-- COMMAND...]",
		Short: "Run a command (default: the bottle's agent) in a bottle whose only network path is its egress proxy",
		Long: `launch plans the bottle NAME, starts its egress proxy with a fresh CA, and
runs COMMAND (default: the provider's command) isolated: in new namespaces
(--backend local, the default on Linux) or in a container with no network
(--backend docker). The workdir is the only host folder the command can
write; the host's home, the bot-bottle home, temporary folders and runtime
sockets are hidden. The command's environment is the plan's env and the
proxy and CA variables, plus HOME, PATH, USER and TERM; nothing else comes
from the host.

launch stays in the foreground until the command ends and exits with its
exit code. From another terminal: bot-bottle ps, logs ID, stop ID.

--prompt TEXT runs a claude or codex bottle's agent headless, unattended
(claude -p --dangerously-skip-permissions, codex exec --skip-git-repo-check
with the bottle's config.toml turning Codex's own sandbox and approvals
off: the bottle is the sandbox), prints its answer and exits with its exit
code.

The agent's home is kept per bottle and workdir in
$BOT_BOTTLE_HOME/agent-homes (it holds the CLI's sessions and no secret:
the credentials stay in the proxy), so the next launch of the same bottle
in the same workdir can resume (claude --resume, codex resume); --fresh
empties it first.

--agent NAME launches an agent instead of a bare bottle: NAME.md from
$BOT_BOTTLE_HOME/agents, else from the workdir's repository's
.bot-bottle/agents (a repository may ship agents, never bottles). Its bottle
comes from the home; its system prompt is appended to the CLI's instructions
(~/.claude/CLAUDE.md, ~/.codex/AGENTS.md) after bot-bottle's, between
markers, and its skills are copied into the CLI's skills folder. Nothing
from the repository runs on the host. bot-bottle plan --agent NAME shows it
all first.`,
		Example: `  bot-bottle launch claude-base
  bot-bottle launch example -- sh -c 'curl -sS https://api.github.com/repos/myorg/app'
  bot-bottle launch --backend docker --workdir ~/src/app codex-base
  bot-bottle launch claude-base --prompt 'fix the failing test in ./pkg/x'
  bot-bottle launch --fresh claude-base
  bot-bottle launch --agent reviewer --workdir ~/src/app --prompt 'review the last commit'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.Agent != "" {
				return nil // the agent names its bottle; a NAME given too is checked against it
			}
			return minArgs("launch", "bottle NAME (or --agent NAME)")(cmd, args)
		},
		ValidArgsFunction: c.completeBottleNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			names := len(args)
			if dash >= 0 {
				names = dash
			}
			switch {
			case o.Agent != "" && names > 1:
				return &usageError{msg: "launch --agent takes at most the agent's bottle NAME, then -- and the command: bot-bottle launch --agent AGENT -- COMMAND..."}
			case o.Agent == "" && names != 1:
				return &usageError{msg: "launch takes one bottle NAME, then -- and the command: bot-bottle launch NAME -- COMMAND..."}
			}
			if names == 1 {
				o.Name = args[0]
			}
			if dash >= 0 {
				o.Command = args[dash:]
			}
			if cmd.Flags().Changed("prompt") && strings.TrimSpace(o.Prompt) == "" {
				return &usageError{msg: "launch: --prompt is empty"}
			}
			if cmd.Flags().Changed("prompt") && len(o.Command) > 0 {
				return &usageError{msg: "launch: --prompt runs the bottle's agent on the prompt; it takes no command after --"}
			}
			if o.Workdir == "" {
				o.Workdir = c.workDir
			}
			return c.launch(cmd.Context(), o, pf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Agent, "agent", "", "launch the agent `NAME` ($BOT_BOTTLE_HOME/agents/NAME.md, else the workdir's repository's .bot-bottle/agents/NAME.md) in the bottle it names")
	f.StringVar(&o.Prompt, "prompt", "", "run the bottle's agent headless on TEXT (claude -p, codex exec: unattended, no approvals) and exit with its exit code")
	f.StringVar(&o.Backend, "backend", "", "where the bottle runs: local (namespaces; default on Linux) or docker")
	f.StringVar(&o.Workdir, "workdir", "", "the folder mounted read-write as the command's working directory (default: the current folder)")
	f.BoolVar(&o.Fresh, "fresh", false, "start the agent with an empty home instead of the one kept from earlier launches of this bottle in this workdir")
	f.BoolVar(&o.ReadonlyRoot, "readonly-root", false, "make everything but the workdir, the agent's home and /tmp read-only (always, for root on the local backend)")
	f.StringArrayVar(&pf.resolve, "resolve", nil, "HOST:PORT=ADDR:PORT: the proxy dials ADDR for HOST (may point at loopback; like curl --resolve)")
	f.StringVar(&pf.upstreamCA, "upstream-ca", "", "PEM file of extra CAs the proxy trusts for upstream TLS")
	f.DurationVar(&pf.dlpHold, "dlp-hold-timeout", 0, "how long a request held by DLP (dlp: {on_match: supervise}) waits for the operator before it is refused (default 2m)")
	_ = cmd.RegisterFlagCompletionFunc("backend", completeValues("local", "docker"))
	_ = cmd.MarkFlagDirname("workdir")
	return cmd
}

func (c *cli) launch(ctx context.Context, o launcher.Options, pf proxyFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	rt, err := c.openOwnerRuntime(pf)
	if err != nil {
		return err
	}
	defer rt.Close()
	// The MCP glue gives the bottle its agent surface and a review owner,
	// so its agent can ask for egress and any operator can decide.
	ctl, err := c.newControl(rt, 0, nil)
	if err != nil {
		return err
	}
	defer ctl.Close()
	stopAudit := rt.runAudit(ctx, slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	defer stopAudit()
	restore := func() {}
	if o.Prompt != "" {
		// Headless: the agent's answer on stdout, its progress on stderr,
		// no stdin (codex exec would wait for one) and no terminal.
		o.Stdio = launcher.Stdio{Out: c.stdout, Err: c.stderr}
	} else {
		restore = c.attachStdio(&o)
	}
	b, err := ctl.Launch(ctx, o)
	if err != nil {
		restore()
		if errors.Is(err, planner.ErrBottleNotFound) {
			return withHint(err, "bot-bottle init, or bot-bottle plan NAME to see what is wrong")
		}
		if errors.Is(err, planner.ErrAgentNotFound) {
			return withHint(err, "bot-bottle init writes an example agent; bot-bottle plan --agent NAME shows what is wrong")
		}
		return storeHint(err, rt.store.Path())
	}
	// Catch signals before saying the bottle runs: whoever reads that line
	// may signal at once, and must stop the bottle, not kill this process.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	eol := "\n"
	if o.Stdio.Terminal != nil {
		eol = "\r\n" // the terminal is raw
	}
	for _, w := range b.Info().Warnings {
		fmt.Fprintf(c.stderr, "bot-bottle: warning: %s%s", w, eol)
	}
	if n := planner.AgentNotice(b.Plan()); n != "" {
		fmt.Fprintf(c.stderr, "bot-bottle: %s%s", n, eol)
	}
	if n := b.HomeNotice(); n != "" {
		fmt.Fprintf(c.stderr, "bot-bottle: %s%s", n, eol)
	}
	if o.Stdio.Terminal == nil {
		fmt.Fprintf(c.stderr, "bot-bottle: bottle %s is running (backend %s); stop it with: bot-bottle stop %s\n",
			b.ID(), b.Info().Where(), b.ID())
	}
	go func() {
		select {
		case <-sigs:
			go func() { _ = b.Stop(context.Background()) }()
		case <-b.Done():
		}
	}()
	code, err := b.Wait(context.Background())
	restore()
	for _, n := range b.WorkdirNotices() {
		fmt.Fprintf(c.stderr, "bot-bottle: warning: %s\n", n)
	}
	if err != nil {
		return fmt.Errorf("bottle %s: %w", b.ID(), err)
	}
	if h := b.Info().AgentHome; h != "" {
		fmt.Fprintf(c.stderr, "bot-bottle: the agent's home is kept in %s: launch %s again in this workdir to resume its sessions (--fresh starts clean)\n", h, b.Info().Name)
	} else if n := b.HomeNotice(); n != "" {
		fmt.Fprintf(c.stderr, "bot-bottle: %s\n", n) // said again: the start's line may have scrolled away
	}
	// Now, not deferred: what could not be stored is said before the
	// exit, and lost events fail a launch whose command succeeded.
	ctl.Close()
	stopAudit()
	if err := rt.Close(); err != nil && code == 0 {
		return &exitError{code: 1}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// attachStdio connects the bottle to this process's streams. When stdout
// is a terminal the command gets one of its own (and the terminal goes raw
// while it runs, so keys reach it unchanged); otherwise pipes. It returns
// the function that puts the terminal back.
func (c *cli) attachStdio(o *launcher.Options) (restore func()) {
	restore = func() {}
	out, ok := c.stdout.(*os.File)
	if ok && term.IsTerminal(int(out.Fd())) {
		o.Stdio = launcher.Stdio{Terminal: out, In: c.stdin, Out: out}
		if in, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
			if st, err := term.MakeRaw(int(in.Fd())); err == nil {
				restore = func() { _ = term.Restore(int(in.Fd()), st) }
			}
		}
		return restore
	}
	o.Stdio = launcher.Stdio{In: c.stdin, Out: c.stdout, Err: c.stderr}
	return restore
}
