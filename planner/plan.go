package planner

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// Planner plans bottles from one bot-bottle home. Its fields are the only
// inputs: the planner reads no environment variable and no file outside the
// home except CodexAuthFile.
type Planner struct {
	// Home is the bot-bottle home; bottles load from Home/bottles only.
	Home string
	// Env is the host environment, used to report whether the variables
	// named by token_ref are set. Values are never copied into a plan.
	Env map[string]string
	// CodexAuthFile is the host's ~/.codex/auth.json.
	CodexAuthFile string
	// WorkDir, when set, is checked (with its parents) for stray bottles
	// folders, which are ignored with a warning.
	WorkDir string
	// HostCheck, when set, adds warnings about how this host would run the
	// plan (a resource limit the local backend cannot enforce here). The
	// CLI sets it; tests leave it nil so that plans do not depend on the
	// machine.
	HostCheck func(*schemas.Plan) []string
	// DockerRuntime, when set, resolves a manifest's runtime against this
	// host's Docker (the docker backend's ChooseRuntime): the plan then
	// says which runtime a docker bottle runs under, and a bottle that asks
	// for runsc where Docker cannot give it is refused. A *RuntimeError is
	// such a refusal; any other error means Docker could not be asked. The
	// CLI sets it for plan (launch asks the backend itself); tests leave it
	// nil so that plans do not depend on the machine.
	DockerRuntime func(requested string) (string, error)
}

// New returns a Planner for a host environment: the home from
// $BOT_BOTTLE_HOME (or ~/.bot-bottle) and Codex's auth file under $HOME.
func New(env map[string]string, workDir string) (*Planner, error) {
	home, err := DefaultHome(env)
	if err != nil {
		return nil, err
	}
	p := &Planner{Home: home, Env: env, WorkDir: workDir}
	if h := env["HOME"]; h != "" {
		p.CodexAuthFile = filepath.Join(h, ".codex", "auth.json")
	}
	return p, nil
}

// Plan plans the bottle called name from the home.
func (p *Planner) Plan(name string) (*schemas.Plan, error) {
	if why := schemas.CheckBottleName(name); why != "" {
		return nil, fmt.Errorf("plan %q: %s (plan takes the name of a bottle in %s; use `bot-bottle validate PATH` to check a file)",
			name, why, BottlesDir(p.Home))
	}
	return p.plan(newLoader(BottlesDir(p.Home)), name)
}

// PlanManifest plans a manifest given by value (YAML, no frontmatter) as if
// it were the bottle called name; its extends still load from the home.
func (p *Planner) PlanManifest(name string, yamlSrc []byte) (*schemas.Plan, error) {
	if why := schemas.CheckBottleName(name); why != "" {
		return nil, fmt.Errorf("plan %q: %s", name, why)
	}
	l := newLoader(BottlesDir(p.Home))
	l.inline, l.inlineName = yamlSrc, name
	return p.plan(l, name)
}

func (p *Planner) plan(l *loader, name string) (*schemas.Plan, error) {
	f, err := l.fold(name, nil)
	if err != nil {
		return nil, err
	}
	if errs := checkProvider(f.provider); len(errs) > 0 {
		return nil, errs
	}
	prov, err := planProvider(f.provider, func() (*codexCredentials, error) { return readCodexAuth(p.CodexAuthFile) })
	if err != nil {
		return nil, err
	}
	plan := &schemas.Plan{
		Bottle:   name,
		Source:   l.paths[name],
		Chain:    f.chain,
		Provider: prov.plan,
		Routes:   []schemas.PlannedRoute{},
		Slots:    []schemas.TokenSlot{},
		Files:    prov.files,
		Workdir:  workdirPlan(f.writable),
		Hide:     f.hide,
		Warnings: append([]string{}, prov.warn...),
	}
	routes, replaced := ownProviderHosts(prov.routes, f.liveRoutes())
	plan.Replaced = append(slices.Clone(f.replaced), replaced...)
	for _, r := range replaced {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("route for %s at %s is replaced by %s, which owns that host", r.Host, r.Origin, r.By))
	}
	if err := assignSlots(plan, routes, p.Env, f.dlp); err != nil {
		return nil, err
	}
	plan.Env = agentEnv(f.env, prov.env)
	plan.Resources = f.resources.plan()
	plan.Runtime = schemas.RuntimeAuto
	if f.runtime != "" {
		plan.Runtime = f.runtime
	}
	if err := p.dockerRuntime(plan, f); err != nil {
		return nil, err
	}
	gg, gitWarn, err := planGitGate(f.git, p.Env)
	if err != nil {
		return nil, err
	}
	if gg != nil {
		plan.GitGate = gg
		plan.Files = append(plan.Files, schemas.AgentFile{Path: GitConfigFile, Mode: 0o644, Content: gg.Config})
		plan.Warnings = append(plan.Warnings, gitWarn...)
	}
	plan.Warnings = append(plan.Warnings, p.warnings(plan, f)...)
	return plan, nil
}

// ownProviderHosts puts the provider's routes first and drops manifest
// routes for the hosts the provider owns.
func ownProviderHosts(provider, manifest []sourcedRoute) ([]sourcedRoute, []schemas.ReplacedRoute) {
	owned := map[string]string{}
	for _, r := range provider {
		owned[schemas.NormalizeHost(r.route.Host)] = r.origin
	}
	out := slices.Clone(provider)
	var replaced []schemas.ReplacedRoute
	for _, r := range manifest {
		if by, ok := owned[schemas.NormalizeHost(r.route.Host)]; ok {
			replaced = append(replaced, schemas.ReplacedRoute{Host: schemas.NormalizeHost(r.route.Host), Origin: r.origin, By: by})
			continue
		}
		out = append(out, r)
	}
	return out, replaced
}

// assignSlots turns routes into planned routes, giving authenticated routes
// token slots in order; routes with the same token_ref share a slot.
//
// Each decrypted route gets its DLP policy: its own dlp block, else the
// bottle's, else block. A passthrough route has none: it is never decrypted.
func assignSlots(plan *schemas.Plan, routes []sourcedRoute, env map[string]string, bottleDLP string) error {
	slotOf := map[string]int{} // token_ref -> index in plan.Slots
	for _, sr := range routes {
		r := sr.route
		pr := schemas.PlannedRoute{Host: schemas.NormalizeHost(r.Host), Port: r.Port, PathAllowlist: r.PathAllowlist,
			Methods: r.Methods, TLSPassthrough: r.TLSPassthrough, WebSocket: r.WebSocket, Origin: sr.origin}
		if !r.TLSPassthrough {
			pr.DLP = cmp.Or(bottleDLP, schemas.DLPBlock)
			if r.DLP != nil {
				pr.DLP = r.DLP.OnMatch
			}
		}
		if r.Auth != nil {
			i, ok := slotOf[r.Auth.TokenRef]
			if !ok {
				i = len(plan.Slots)
				slotOf[r.Auth.TokenRef] = i
				plan.Slots = append(plan.Slots, schemas.TokenSlot{Slot: schemas.SlotName(i), TokenRef: r.Auth.TokenRef,
					Set: isSet(r.Auth.TokenRef, env)})
			}
			plan.Slots[i].Hosts = append(plan.Slots[i].Hosts, pr.Host)
			pr.Auth = &schemas.PlannedAuth{Scheme: r.Auth.Scheme, Slot: plan.Slots[i].Slot, TokenRef: r.Auth.TokenRef}
		}
		plan.Routes = append(plan.Routes, pr)
	}
	return checkSlots(plan)
}

// checkSlots verifies the slot invariant: one slot per token_ref and one
// token_ref per slot. A violation is a planner bug, reported rather than
// shipped, because it would hand one host's credential to another.
func checkSlots(plan *schemas.Plan) error {
	refOf := map[string]string{}
	slotOf := map[string]string{}
	for _, r := range plan.Routes {
		if r.Auth == nil {
			continue
		}
		if ref, ok := refOf[r.Auth.Slot]; ok && ref != r.Auth.TokenRef {
			return fmt.Errorf("planner bug: slot %s is shared by %s and %s", r.Auth.Slot, ref, r.Auth.TokenRef)
		}
		if slot, ok := slotOf[r.Auth.TokenRef]; ok && slot != r.Auth.Slot {
			return fmt.Errorf("planner bug: %s fills two slots, %s and %s", r.Auth.TokenRef, slot, r.Auth.Slot)
		}
		refOf[r.Auth.Slot], slotOf[r.Auth.TokenRef] = r.Auth.TokenRef, r.Auth.Slot
	}
	return nil
}

func isSet(ref string, env map[string]string) bool {
	if ref == CodexHostRef {
		return true // read from auth.json, which planning has already checked
	}
	return env[ref] != ""
}

// warnings lists what the operator should know but that does not stop the
// plan.
func (p *Planner) warnings(plan *schemas.Plan, f *folded) []string {
	var w []string
	for _, dir := range strayBottleDirs(p.WorkDir, p.Home) {
		w = append(w, fmt.Sprintf("ignoring %s: bottles load only from %s (a repository cannot declare a bottle)", dir, BottlesDir(p.Home)))
	}
	if len(plan.Routes) == 0 {
		w = append(w, "no egress routes: every request from the bottle will be denied")
	}
	for _, s := range plan.Slots {
		if !s.Set {
			w = append(w, fmt.Sprintf("%s is not set on this host; launching will fail until it is (it fills %s for %s)",
				s.TokenRef, s.Slot, strings.Join(s.Hosts, ", ")))
		}
	}
	for _, r := range plan.Routes {
		if schemas.IsSensitiveHostName(r.Host) {
			w = append(w, fmt.Sprintf("route %s (%s) names the machine itself or a metadata service", r.Host, r.Origin))
		}
	}
	w = append(w, resourceWarnings(plan.Resources)...)
	if p.HostCheck != nil {
		w = append(w, p.HostCheck(plan)...)
	}
	for _, name := range sortedNames(f.env) {
		if LooksSecret(name) {
			w = append(w, fmt.Sprintf("env %s looks like a credential: the agent can read and leak it; give credentials to egress routes (auth) instead", name))
		}
	}
	return w
}
