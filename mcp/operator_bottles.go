package mcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/termguard"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// inlineName is the bottle name an inline manifest is planned under when
// the caller names none.
const inlineName = "inline"

// Bounds of the bottle tools.
const (
	defaultLogTail   = 64 << 10
	maxLogTail       = 1 << 20
	defaultStopWait  = time.Minute
	maxStopWait      = 5 * time.Minute
	maxManifestChars = 256 << 10
)

type planArgs struct {
	Name     string `json:"name"`
	Manifest string `json:"manifest"`
	Agent    string `json:"agent"`
	Workdir  string `json:"workdir"`
}

type launchArgs struct {
	Name         string   `json:"name"`
	Agent        string   `json:"agent"`
	Command      []string `json:"command"`
	Backend      string   `json:"backend"`
	Workdir      string   `json:"workdir"`
	ReadonlyRoot bool     `json:"readonly_root"`
	Prompt       string   `json:"prompt"`
}

type listArgs struct {
	All bool `json:"all"`
}

type stopArgs struct {
	ID             string `json:"id"`
	Reason         string `json:"reason"`
	TimeoutSeconds int    `json:"timeout_seconds"`
}

type logsArgs struct {
	ID        string `json:"id"`
	TailBytes int64  `json:"tail_bytes"`
}

// BottleList is bottle_list's result.
type BottleList struct {
	Bottles []launcher.Info `json:"bottles"`
}

// Stopped is bottle_stop's result.
type Stopped struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// Logs is bottle_logs's result.
type Logs struct {
	ID     string `json:"id"`
	Output string `json:"output"`
	Bytes  int    `json:"bytes"`
}

func (o *Operator) addBottleTools() {
	addTool(o.srv, mcpgo.NewTool("bottle_plan",
		mcpgo.WithToolTitle("Plan a bottle"),
		mcpgo.WithDescription("Plan a bottle: the routes its proxy will enforce, credentials by host variable and slot (never a value), "+
			"the agent's env and warnings. Give name for a bottle in the bot-bottle home, or manifest (YAML, no frontmatter) to check a draft; "+
			"with both, the manifest is planned as that name. A broken manifest comes back as one error per line, file:line:col: key: message."),
		mcpgo.WithString("name", mcpgo.Description("bottle name in the home's bottles folder (or the name to plan an inline manifest as)"), mcpgo.MaxLength(100)),
		mcpgo.WithString("manifest", mcpgo.Description("an inline manifest: the YAML of a bottle file without its --- frontmatter fences"), mcpgo.MaxLength(maxManifestChars)),
		mcpgo.WithString("agent", mcpgo.Description("plan this agent instead: agents/NAME.md of the home, else .bot-bottle/agents/NAME.md of the workdir's repository, in the home bottle it names; "+
			"the plan's agent says where it, its prompt and each skill came from"), mcpgo.MaxLength(100)),
		mcpgo.WithString("workdir", mcpgo.Description("with agent: the folder whose repository's agents and skills are seen; omit it for the server's working directory")),
		mcpgo.WithOutputSchema[schemas.Plan](),
		readOnly(),
	), o.bottlePlan, operatorHint)

	addTool(o.srv, mcpgo.NewTool("bottle_launch",
		mcpgo.WithToolTitle("Launch a bottle"),
		mcpgo.WithDescription("Launch a bottle from the home: its proxy with a fresh CA, then the command isolated (backend local: namespaces; docker: a container with no network). "+
			"The bottle is owned by this server and ends when its command exits, when bottle_stop stops it, or when the server exits. Returns the bottle id; "+
			"with prompt, waits for the agent's answer."),
		mcpgo.WithString("name", mcpgo.Description("bottle name in the home's bottles folder; give name or agent"), mcpgo.MaxLength(100)),
		mcpgo.WithString("agent", mcpgo.Description("launch this agent: agents/NAME.md of the home, else .bot-bottle/agents/NAME.md of the workdir's repository (a repository may ship agents, never bottles), "+
			"in the home bottle it names; its system prompt goes into the CLI's instructions and its skills into the CLI's skills folder"), mcpgo.MaxLength(100)),
		mcpgo.WithArray("command", mcpgo.Description("the command and its arguments; omit it to run the bottle's agent provider command"), mcpgo.WithStringItems(), mcpgo.MaxItems(256)),
		mcpgo.WithString("backend", mcpgo.Description("where the bottle runs"), backendDefault(o.ctl.cfg.Launcher.Backends()), mcpgo.Enum(o.ctl.cfg.Launcher.Backends()...)),
		mcpgo.WithString("workdir", mcpgo.Description("host folder mounted read-write as the command's working directory; omit it for the server's working directory")),
		mcpgo.WithBoolean("readonly_root", mcpgo.Description("make everything but the workdir, the agent's home and /tmp read-only"), mcpgo.DefaultBool(false)),
		mcpgo.WithString("prompt", mcpgo.Description("delegate a task: run the bottle's agent (template claude or codex) headless on this prompt, unattended, "+
			"and wait for it; the result carries its output and exit_code. Not with command."), mcpgo.MaxLength(maxPromptChars)),
		mcpgo.WithOutputSchema[Launched](),
		acting(false, false),
	), o.bottleLaunch, operatorHint)

	addTool(o.srv, mcpgo.NewTool("bottle_list",
		mcpgo.WithToolTitle("List bottles"),
		mcpgo.WithDescription("List the bottles of this machine, whichever process launched them: running ones and orphans (owner died); with all, ended ones too."),
		mcpgo.WithBoolean("all", mcpgo.Description("include bottles that have ended"), mcpgo.DefaultBool(false)),
		mcpgo.WithOutputSchema[BottleList](),
		readOnly(),
	), o.bottleList, operatorHint)

	addTool(o.srv, mcpgo.NewTool("bottle_stop",
		mcpgo.WithToolTitle("Stop a bottle"),
		mcpgo.WithDescription("Stop a bottle, whichever process owns it (the owner is asked on the event channel), and wait until it has ended: SIGTERM, then SIGKILL after a grace period; its proxy, sockets and run folder go with it."),
		mcpgo.WithString("id", mcpgo.Required(), mcpgo.Description("bottle id, as bottle_list shows it"), mcpgo.MaxLength(64)),
		mcpgo.WithString("reason", mcpgo.Description("why, for the record"), mcpgo.MaxLength(500)),
		mcpgo.WithInteger("timeout_seconds", mcpgo.Description("how long to wait for the bottle to end"), mcpgo.DefaultNumber(int(defaultStopWait/time.Second)), mcpgo.Min(1), mcpgo.Max(int(maxStopWait/time.Second))),
		mcpgo.WithOutputSchema[Stopped](),
		acting(true, true),
	), o.bottleStop, operatorHint)

	addTool(o.srv, mcpgo.NewTool("bottle_logs",
		mcpgo.WithToolTitle("A bottle's output"),
		mcpgo.WithDescription("The latest output of a bottle's command, as its owner keeps it (bounded), while it runs and after it ended (the newest 100 ended bottles)."),
		mcpgo.WithString("id", mcpgo.Required(), mcpgo.Description("bottle id"), mcpgo.MaxLength(64)),
		mcpgo.WithInteger("tail_bytes", mcpgo.Description("return at most the last N bytes"), mcpgo.DefaultNumber(defaultLogTail), mcpgo.Min(1), mcpgo.Max(maxLogTail)),
		mcpgo.WithOutputSchema[Logs](),
		readOnly(),
	), o.bottleLogs, operatorHint)
}

func (o *Operator) bottlePlan(_ context.Context, a planArgs) (*schemas.Plan, string, error) {
	p := o.ctl.cfg.Planner
	if o.ctl.cfg.DockerRuntime != nil {
		withDocker := *p
		withDocker.DockerRuntime = o.ctl.cfg.DockerRuntime
		p = &withDocker
	}
	var (
		plan *schemas.Plan
		err  error
	)
	switch {
	case a.Agent != "" && a.Manifest != "":
		return nil, "", errors.New("give agent or manifest, not both: an agent's bottle comes from the home")
	case a.Agent != "":
		workdir := a.Workdir
		if workdir == "" {
			workdir = o.ctl.cfg.WorkDir
		}
		if plan, err = p.PlanAgent(a.Agent, workdir); err == nil && a.Name != "" && a.Name != plan.Bottle {
			err = fmt.Errorf("agent %s runs in the bottle %s, not %s", a.Agent, plan.Bottle, a.Name)
		}
	case a.Manifest != "":
		name := a.Name
		if name == "" {
			name = inlineName
		}
		plan, err = p.PlanManifest(name, []byte(a.Manifest))
	case a.Name != "":
		plan, err = p.Plan(a.Name)
	default:
		return nil, "", errors.New("give name (a bottle in the home) or manifest (inline YAML), or both")
	}
	if err != nil {
		return nil, "", err
	}
	var text bytes.Buffer
	if err := planner.FormatPlan(&text, plan); err != nil {
		return nil, "", err
	}
	return plan, text.String(), nil
}

func (o *Operator) bottleLaunch(ctx context.Context, a launchArgs) (Launched, string, error) {
	workdir := a.Workdir
	if workdir == "" {
		workdir = o.ctl.cfg.WorkDir
	}
	if a.Name == "" && a.Agent == "" {
		return Launched{}, "", errors.New("give name (a bottle in the home) or agent (an agent of the home or the workdir's repository)")
	}
	opts := launcher.Options{Name: a.Name, Agent: a.Agent, Command: a.Command, Backend: a.Backend, Workdir: workdir, ReadonlyRoot: a.ReadonlyRoot, Prompt: a.Prompt}
	var out, errOut *tailBuffer
	if a.Prompt != "" {
		out, errOut = newTailBuffer(maxPromptOutput), newTailBuffer(maxPromptStderr)
		opts.Stdio = launcher.Stdio{Out: out, Err: errOut}
	}
	b, err := o.ctl.Launch(ctx, opts)
	if err != nil {
		return Launched{}, "", err
	}
	if a.Prompt != "" {
		return awaitPrompt(ctx, b, out, errOut)
	}
	in := b.Info()
	text := fmt.Sprintf("bottle %s is %s (backend %s, workdir %s); bottle_logs and bottle_stop take its id", in.ID, in.State, in.Where(), in.Workdir)
	if n := planner.AgentNotice(b.Plan()); n != "" {
		text += "\n" + n
	}
	return Launched{Info: in, Agent: b.Plan().Agent}, text, nil
}

func (o *Operator) bottleList(ctx context.Context, a listArgs) (BottleList, string, error) {
	list, err := o.ctl.cfg.Launcher.List(ctx, a.All)
	if err != nil {
		return BottleList{}, "", err
	}
	if list == nil {
		list = []launcher.Info{}
	}
	if len(list) == 0 {
		return BottleList{Bottles: list}, "no bottles", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", plural(len(list), "bottle", "bottles"))
	for _, in := range list {
		state := in.State
		if in.Orphaned {
			state += " (orphaned: its owner died; bot-bottle cleanup removes it)"
		} else if in.Lost {
			state += " (lost: its machine stopped renewing its lease; only that machine can clean it up)"
		} else if in.ExitCode != nil {
			state += fmt.Sprintf(" (exit %d)", *in.ExitCode)
		}
		fmt.Fprintf(&b, "  %s  %s  backend %s  machine %s  owner pid %d  for %s\n", in.ID, state, in.Where(),
			orUnknown(schemas.Flatten(in.Owner.Machine, 64)), in.Owner.PID, since(in.Since))
	}
	return BottleList{Bottles: list}, b.String(), nil
}

func (o *Operator) bottleStop(ctx context.Context, a stopArgs) (Stopped, string, error) {
	wait := defaultStopWait
	if a.TimeoutSeconds > 0 {
		wait = min(time.Duration(a.TimeoutSeconds)*time.Second, maxStopWait)
	}
	reason := "bottle_stop over MCP"
	if a.Reason != "" {
		reason += ": " + a.Reason
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := o.ctl.cfg.Launcher.Stop(ctx, a.ID, reason); err != nil {
		return Stopped{}, "", err
	}
	state := "stopped"
	if in, err := o.ctl.cfg.Launcher.Lookup(context.WithoutCancel(ctx), a.ID); err == nil {
		state = in.State
	}
	return Stopped{ID: a.ID, State: state}, fmt.Sprintf("bottle %s has stopped (%s)", a.ID, state), nil
}

func (o *Operator) bottleLogs(ctx context.Context, a logsArgs) (Logs, string, error) {
	tail := a.TailBytes
	if tail <= 0 {
		tail = defaultLogTail
	}
	out, err := o.ctl.cfg.Launcher.Logs(ctx, a.ID, launcher.LogOptions{Tail: -1, MaxBytes: min(tail, maxLogTail)})
	if err != nil {
		return Logs{}, "", err
	}
	text := "(no output yet)"
	if len(out) > 0 {
		// The bottle's own text: escape sequences and controls removed, in
		// a fence no line of it can close, labelled as data.
		plain := bytes.TrimRight(termguard.Strip(out), "\r\n")
		text = schemas.AgentText(plain).MCPBlock(fmt.Sprintf("the last %d bytes of bottle %s's output", len(out), a.ID), "", bytes.Count(plain, []byte("\n"))+2)
	}
	return Logs{ID: a.ID, Output: string(out), Bytes: len(out)}, text, nil
}

// backendDefault is the backend a launch uses when it names none: the
// machine's first.
func backendDefault(backends []string) mcpgo.PropertyOption {
	if len(backends) == 0 {
		return func(map[string]any) {}
	}
	return mcpgo.DefaultString(backends[0])
}

// orUnknown is s, or "unknown" when it is empty (a bottle recorded before
// owners named their machine).
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
