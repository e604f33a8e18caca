package schemas

// Manifest is one bottle file as written: the YAML frontmatter of a Markdown
// file, or a whole .yaml file, under $BOT_BOTTLE_HOME/bottles. It is the
// unmerged form; the planner folds a chain of manifests (extends) into a Plan.
//
// Pointer fields distinguish "not set" from the zero value, which the
// last-wins merge of extends depends on.
type Manifest struct {
	Extends       Names             `yaml:"extends" json:"extends,omitempty"`
	AgentProvider *AgentProvider    `yaml:"agent_provider" json:"agent_provider,omitempty"`
	Env           map[string]string `yaml:"env" json:"env,omitempty"`
	Egress        *Egress           `yaml:"egress" json:"egress,omitempty"`
	Workdir       *Workdir          `yaml:"workdir" json:"workdir,omitempty"`
	Resources     *Resources        `yaml:"resources" json:"resources,omitempty"`
	// DLP is the bottle's default policy for requests that carry a secret;
	// a route's own dlp block wins.
	DLP *DLP `yaml:"dlp" json:"dlp,omitempty"`
	// Runtime is the container runtime of a docker bottle: auto (the
	// default), runc or runsc (gVisor). See ResolveRuntime.
	Runtime string `yaml:"runtime" json:"runtime,omitempty"`
	// GitGate is the bottle's git gate: the repos the agent fetches and
	// pushes through its owner, who holds the credentials.
	GitGate *GitGate `yaml:"git-gate" json:"git-gate,omitempty"`
	// Hide names host paths a local bottle must not see (see HiddenPath).
	Hide []string `yaml:"hide" json:"hide,omitempty"`

	// At is where the manifest's top-level mapping starts, KeyAt where each
	// top-level key was written, ExtendsAt where each parent was named and
	// EnvAt where each env name was written. The decoder fills them.
	At        Location            `yaml:"-" json:"-"`
	KeyAt     map[string]Location `yaml:"-" json:"-"`
	ExtendsAt []Location          `yaml:"-" json:"-"`
	EnvAt     map[string]Location `yaml:"-" json:"-"`
	HideAt    []Location          `yaml:"-" json:"-"`
}

// Names is a list of bottle names that may be written as a single scalar
// (`extends: base`) or a sequence (`extends: [a, b]`).
type Names []string

// Provider templates understood by the planner.
const (
	TemplateClaude  = "claude"
	TemplateCodex   = "codex"
	TemplateCommand = "command"
)

// Templates lists the valid values of agent_provider.template.
var Templates = []string{TemplateClaude, TemplateCodex, TemplateCommand}

// AgentProvider says which agent runs in the bottle and how it authenticates
// to its model provider. Credentials are named by host environment variable,
// never given by value.
type AgentProvider struct {
	Template               string   `yaml:"template" json:"template,omitempty"`
	AuthToken              string   `yaml:"auth_token" json:"auth_token,omitempty"`
	ForwardHostCredentials *bool    `yaml:"forward_host_credentials" json:"forward_host_credentials,omitempty"`
	APIKey                 string   `yaml:"api_key" json:"api_key,omitempty"`
	Image                  string   `yaml:"image" json:"image,omitempty"`
	Command                []string `yaml:"command" json:"command,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// Egress holds the bottle's allowlist.
type Egress struct {
	Routes []Route `yaml:"routes" json:"routes,omitempty"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// Route admits requests to one host. Everything not admitted by some route is
// denied.
type Route struct {
	Host           string   `yaml:"host" json:"host"`
	Port           int      `yaml:"port" json:"port,omitempty"`
	PathAllowlist  []string `yaml:"path_allowlist" json:"path_allowlist,omitempty"`
	Methods        []string `yaml:"methods" json:"methods,omitempty"`
	Auth           *Auth    `yaml:"auth" json:"auth,omitempty"`
	TLSPassthrough bool     `yaml:"tls_passthrough" json:"tls_passthrough,omitempty"`
	// WebSocket lets a route with auth relay WebSocket upgrades, their
	// frames scanned and masked like bodies. Only meaningful with auth:
	// routes without a credential relay WebSocket anyway.
	WebSocket bool `yaml:"websocket" json:"websocket,omitempty"`
	DLP       *DLP `yaml:"dlp" json:"dlp,omitempty"`

	At              Location            `yaml:"-" json:"-"`
	KeyAt           map[string]Location `yaml:"-" json:"-"`
	PathAllowlistAt []Location          `yaml:"-" json:"-"`
	MethodsAt       []Location          `yaml:"-" json:"-"`
}

// Auth asks the proxy to inject `Authorization: <Scheme> <token>` on a
// route, the token being read from the host environment variable TokenRef
// when the bottle is launched.
type Auth struct {
	Scheme   string `yaml:"scheme" json:"scheme"`
	TokenRef string `yaml:"token_ref" json:"token_ref"`

	At    Location            `yaml:"-" json:"-"`
	KeyAt map[string]Location `yaml:"-" json:"-"`
}

// Auth schemes the proxy can inject. Basic takes "user:password" from the
// token and base64-encodes it.
const (
	SchemeBearer = "Bearer"
	SchemeToken  = "token"
	SchemeBasic  = "Basic"
)

// Schemes lists the valid values of auth.scheme.
var Schemes = []string{SchemeBearer, SchemeToken, SchemeBasic}

// Methods lists the HTTP methods a route may name.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// RouteKey identifies the route a later manifest replaces: its normalised host
// and its port (0 for the default ports).
func (r Route) RouteKey() string {
	h := NormalizeHost(r.Host)
	if r.Port != 0 {
		return h + ":" + itoa(r.Port)
	}
	return h
}
