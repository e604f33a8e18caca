package schemas

// Plan is what a bottle will be: the folded manifest chain turned into routes,
// token slots, the agent's environment and files. It is produced by the
// planner without side effects and carries no secret value: credentials are
// named by host environment variable (TokenRef) and by slot, never by value.
// `bot-bottle plan --json` prints it; its JSON Schema is PlanSchema.
type Plan struct {
	Bottle   string          `json:"bottle"`
	Source   string          `json:"source"`
	Chain    []string        `json:"chain"`
	Provider *ProviderPlan   `json:"provider,omitempty"`
	Routes   []PlannedRoute  `json:"routes"`
	Replaced []ReplacedRoute `json:"replaced,omitempty"`
	Slots    []TokenSlot     `json:"slots"`
	Env      []EnvVar        `json:"env"`
	Files    []AgentFile     `json:"files,omitempty"`
	Workdir  WorkdirPlan     `json:"workdir"`
	// Hide are the host paths the manifest chain hides from a local
	// bottle, besides the backend's own list.
	Hide []HidePlan `json:"hide,omitempty"`
	// Resources are the limits the backend enforces on the bottle.
	Resources PlannedResources `json:"resources"`
	// Runtime is the manifest's runtime (RuntimeAuto when none sets it);
	// DockerRuntime is the runtime a docker bottle of this plan runs under
	// on the planning host, when the planner could ask Docker.
	Runtime       string       `json:"runtime"`
	DockerRuntime string       `json:"docker_runtime,omitempty"`
	GitGate       *GitGatePlan `json:"git_gate,omitempty"`
	// Agent is the agent the bottle runs, when planned for one.
	Agent    *AgentPlan `json:"agent,omitempty"`
	Warnings []string   `json:"warnings"`
}

// WorkdirPlan says which workdir paths the bottle cannot write (Protected,
// read-only whether they exist or not) and which protected paths the
// manifest chain opted back in (Writable).
type WorkdirPlan struct {
	Protected []ProtectedPlan `json:"protected"`
	Writable  []WritablePlan  `json:"writable,omitempty"`
}

// ProtectedPlan is one protected path, relative to the workdir, with what
// on the host would run or trust it.
type ProtectedPlan struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

// WritablePlan is one protected path opted back in, with the manifest
// position (file:line:col) that did it.
type WritablePlan struct {
	Path   string `json:"path"`
	Origin string `json:"origin"`
}

// ProviderPlan is the agent provider in force after extends are folded.
type ProviderPlan struct {
	Template string   `json:"template"`
	Image    string   `json:"image,omitempty"`
	Command  []string `json:"command,omitempty"`
	Hosts    []string `json:"hosts,omitempty"` // hosts whose routes the provider owns
}

// PlannedRoute is a route as the proxy will enforce it, with where it came
// from.
type PlannedRoute struct {
	Host           string       `json:"host"`
	Port           int          `json:"port,omitempty"`
	PathAllowlist  []string     `json:"path_allowlist,omitempty"`
	Methods        []string     `json:"methods,omitempty"`
	TLSPassthrough bool         `json:"tls_passthrough,omitempty"`
	WebSocket      bool         `json:"websocket,omitempty"`
	Auth           *PlannedAuth `json:"auth,omitempty"`
	// DLP is the route's policy for requests that carry a secret, after
	// the bottle's default and the route's own are folded.
	DLP string `json:"dlp_on_match,omitempty"`
	// Origin is "provider:<template>" for provider routes and the manifest
	// position (file:line:col) otherwise.
	Origin string `json:"origin"`
}

// PlannedAuth names the credential a route injects: its scheme, the token
// slot the proxy reads, and the host environment variable that fills the
// slot at launch.
type PlannedAuth struct {
	Scheme   string `json:"scheme"`
	Slot     string `json:"slot"`
	TokenRef string `json:"token_ref"`
}

// ReplacedRoute records a route that was dropped: by a provider that owns its
// host, or by a later manifest in the extends chain.
type ReplacedRoute struct {
	Host   string `json:"host"`
	Origin string `json:"origin"`
	By     string `json:"by"`
}

// TokenSlot is one EGRESS_TOKEN_N: the host variable that fills it and the
// hosts that use it. Set reports whether the planning host has the variable
// set (non-empty); the value itself never enters a plan.
type TokenSlot struct {
	Slot     string   `json:"slot"`
	TokenRef string   `json:"token_ref"`
	Hosts    []string `json:"hosts"`
	Set      bool     `json:"set"`
}

// Sources of an agent environment variable.
const (
	EnvFromManifest = "manifest"
	EnvFromProvider = "provider"
	EnvFromLaunch   = "launch"
)

// EnvVar is one variable of the agent's environment. Values of launch
// variables are templates such as http://127.0.0.1:<proxy-port>, filled in by
// the launcher.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// AgentFile is a file the launcher writes into the bottle, relative to the
// agent's home directory, such as Codex's placeholder auth.json. Data, when
// set, is the content instead of Content: bytes that need not be text (a
// skill's files), carried as base64 in JSON.
type AgentFile struct {
	Path    string `json:"path"`
	Mode    uint32 `json:"mode"`
	Content string `json:"content"`
	Data    []byte `json:"data,omitempty"`
}

// RoutesFile derives the file the egress proxy enforces: the routes with
// slots for credentials, and nothing that names a host variable.
func (p *Plan) RoutesFile() *RoutesFile {
	rf := &RoutesFile{Version: RoutesVersion, Routes: make([]RouteRule, 0, len(p.Routes))}
	for _, r := range p.Routes {
		rule := RouteRule{Host: r.Host, Port: r.Port, PathAllowlist: r.PathAllowlist, Methods: r.Methods,
			TLSPassthrough: r.TLSPassthrough, WebSocket: r.WebSocket, DLP: r.DLP}
		if r.Auth != nil {
			rule.Auth = &SlotAuth{Scheme: r.Auth.Scheme, Slot: r.Auth.Slot}
		}
		rf.Routes = append(rf.Routes, rule)
	}
	return rf
}
