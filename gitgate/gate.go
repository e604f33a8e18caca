package gitgate

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// Repo is one repository of the gate, as the owner hands it over: the
// plan's repo with its credential read from the host.
type Repo struct {
	Name  string
	URL   schemas.GitURL
	Push  []string // branch patterns (schemas.MatchGitPush); empty: no push
	Force bool     // allow non-fast-forward updates and deletions
	Cred  Credential
}

// Credential is the host credential toward a repo's upstream. It never
// leaves the owner: the gate's git gets it through its environment.
type Credential struct {
	Kind           string         // schemas.GitAuthToken, schemas.GitAuthSSH, or "" for none
	Username       string         // token: the Basic user name
	Token          schemas.Secret // token
	KeyFile        string         // ssh: the private key file
	KnownHostsFile string         // ssh: the known_hosts file (strict checking)
}

// Config is what a Gate works with.
type Config struct {
	Bottle string
	Repos  []Repo
	// Dir is the gate's own folder (mode 0700, out of the bottle's view):
	// the mirrors and the quarantines of pushes in flight.
	Dir string
	// Git is the git binary (default: "git" on PATH).
	Git string
	// PATH is the PATH the gate's git runs with (ssh, git's helpers).
	PATH string
	// Detector finds secrets in pushed commits: the proxy's rules and the
	// host's secret values.
	Detector *dlp.Detector
	// Publisher receives a git.push event for every push (an
	// *events.Bus in bot-bottle).
	Publisher Publisher
	// Resolve maps "host:port" to "ip:port" for the upstreams, like the
	// proxy's (tests pin .test names to loopback with it). For https the
	// ports must agree: curl maps names, not ports.
	Resolve map[string]string
	// UpstreamCAFile is a PEM file of the CAs trusted for https upstreams
	// instead of the system's (tests).
	UpstreamCAFile string
	// MaxScan bounds the bytes of new history one push may carry
	// (default DefaultMaxScan); a larger push is refused, unscanned.
	MaxScan int64
	// Timeout bounds one git operation toward the upstream (default
	// DefaultTimeout).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Publisher takes the gate's events; it must not block. events.Publisher
// satisfies it: the gate names only the method it calls, so it does not
// depend on the event channel's package.
type Publisher interface{ Publish(schemas.Event) }

type discard struct{}

func (discard) Publish(schemas.Event) {}

// Defaults.
const (
	DefaultMaxScan = 512 << 20
	DefaultTimeout = 10 * time.Minute
	// maxProposals bounds a bottle's push proposals pending at once.
	maxProposals = 16
)

// Gate serves one bottle's repos. It is safe for concurrent use; the
// operations on one repo run one at a time.
type Gate struct {
	cfg   Config
	log   *slog.Logger
	repos map[string]*repoState
	sup   atomic.Pointer[Supervisor]
	srv   *http.Server
	mu    sync.Mutex // guards proposals across repos
	props int        // pending proposals made, for the bound
}

// repoState is a repo and what the gate keeps of it.
type repoState struct {
	Repo
	mirror string // the bare mirror
	mu     sync.Mutex
	ready  bool // the mirror exists
	// released holds the commits whose findings the operator released;
	// proposals the pending ones by their commits' key.
	released  map[string]bool
	proposals map[string]string
}

// New checks cfg and prepares the gate's folder. Nothing is fetched until
// the agent asks.
func New(cfg Config) (*Gate, error) {
	if cfg.Dir == "" || cfg.Detector == nil {
		return nil, errors.New("git gate: no folder or no detector")
	}
	if cfg.Git == "" {
		cfg.Git = "git"
	}
	git, err := lookPath(cfg.Git, cfg.PATH)
	if err != nil {
		return nil, fmt.Errorf("git gate: %w (the gate runs git on the host)", err)
	}
	cfg.Git = git
	if cfg.MaxScan <= 0 {
		cfg.MaxScan = DefaultMaxScan
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Publisher == nil {
		cfg.Publisher = discard{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, sub := range []string{"", "repos", "home", "quarantine"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("git gate: %w", err)
		}
	}
	g := &Gate{cfg: cfg, log: log, repos: map[string]*repoState{}}
	for _, r := range cfg.Repos {
		if why := schemas.CheckGitRepoName(r.Name); why != "" {
			return nil, fmt.Errorf("git gate: repo %q: %s", r.Name, why)
		}
		g.repos[r.Name] = &repoState{Repo: r, mirror: filepath.Join(cfg.Dir, "repos", r.Name+".git"),
			released: map[string]bool{}, proposals: map[string]string{}}
	}
	return g, nil
}

// lookPath finds a program in pathEnv (the host's PATH), or as given when
// it has a slash.
func lookPath(prog, pathEnv string) (string, error) {
	if strings.Contains(prog, "/") {
		return exec.LookPath(prog)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, prog)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(prog)
}

// Serve serves the gate on ln until Close.
func (g *Gate) Serve(ln net.Listener) error {
	g.mu.Lock()
	if g.srv == nil {
		g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second}
	}
	srv := g.srv
	g.mu.Unlock()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving. Pushes in flight are cut off; nothing half-done
// reaches an upstream's refs that the upstream did not accept.
func (g *Gate) Close() error {
	g.mu.Lock()
	srv := g.srv
	g.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// ServeHTTP routes git's smart HTTP requests: /<repo>[.git]/info/refs,
// /<repo>[.git]/git-upload-pack and /<repo>[.git]/git-receive-pack.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	name = strings.TrimSuffix(name, ".git")
	rs, ok := g.repos[name]
	if !ok {
		gitError(w, http.StatusNotFound, fmt.Sprintf("bot-bottle git gate: no repo %s in this bottle's git-gate (it has: %s)", quoteAgent(name), g.repoNames()))
		return
	}
	service := r.URL.Query().Get("service")
	switch {
	case rest == "info/refs" && r.Method == http.MethodGet && service == "git-upload-pack":
		g.serveUploadAdvert(w, r, rs)
	case rest == "info/refs" && r.Method == http.MethodGet && service == "git-receive-pack":
		g.serveReceiveAdvert(w, r, rs)
	case rest == "git-upload-pack" && r.Method == http.MethodPost:
		g.serveUploadPack(w, r, rs)
	case rest == "git-receive-pack" && r.Method == http.MethodPost:
		g.serveReceivePack(w, r, rs)
	default:
		gitError(w, http.StatusForbidden, "bot-bottle git gate: only git's smart HTTP protocol is served here")
	}
}

func (g *Gate) repoNames() string {
	var names []string
	for _, r := range g.cfg.Repos {
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// gitError answers a request git will print: a text/plain body, each of
// whose lines git shows as "remote: …".
func gitError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
