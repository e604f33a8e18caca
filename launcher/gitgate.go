package launcher

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/gitgate"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// gitGateRepos reads the git gate's credentials from the host environment
// at launch, as tokens are: a variable that is unset or empty, or a key
// file that cannot be read, is an error naming the variable (never its
// value).
func gitGateRepos(plan *schemas.Plan, env map[string]string) ([]gitgate.Repo, error) {
	if plan.GitGate == nil {
		return nil, nil
	}
	var out []gitgate.Repo
	for _, r := range plan.GitGate.Repos {
		u, why, _ := schemas.ParseGitURL(r.URL)
		if why != "" {
			return nil, fmt.Errorf("git-gate repo %s: url %s", r.Name, why)
		}
		repo := gitgate.Repo{Name: r.Name, URL: u, Push: r.Push, Force: r.Force}
		if a := r.Auth; a != nil {
			cred, err := gitCredential(r.Name, a, env)
			if err != nil {
				return nil, err
			}
			repo.Cred = cred
		}
		out = append(out, repo)
	}
	return out, nil
}

func gitCredential(repo string, a *schemas.GitAuthPlan, env map[string]string) (gitgate.Credential, error) {
	need := func(ref string) (string, error) {
		v := env[ref]
		if v == "" {
			return "", fmt.Errorf("git-gate repo %s: host variable %s is not set (or empty)", repo, ref)
		}
		return v, nil
	}
	if a.Kind == schemas.GitAuthToken {
		v, err := need(a.TokenRef)
		if err != nil {
			return gitgate.Credential{}, err
		}
		return gitgate.Credential{Kind: a.Kind, Username: a.Username, Token: schemas.NewSecret(v)}, nil
	}
	key, err := need(a.SSHKeyRef)
	if err != nil {
		return gitgate.Credential{}, err
	}
	cred := gitgate.Credential{Kind: a.Kind, KeyFile: key}
	if a.KnownHostsRef != "" {
		if cred.KnownHostsFile, err = need(a.KnownHostsRef); err != nil {
			return gitgate.Credential{}, err
		}
	} else if home := env["HOME"]; home != "" {
		cred.KnownHostsFile = filepath.Join(home, ".ssh", "known_hosts")
	}
	for what, p := range map[string]string{"key file ($" + a.SSHKeyRef + ")": cred.KeyFile, "known_hosts file": cred.KnownHostsFile} {
		if p == "" || !filepath.IsAbs(p) {
			return gitgate.Credential{}, fmt.Errorf("git-gate repo %s: the %s must be an absolute path", repo, what)
		}
		if _, err := os.Stat(p); err != nil {
			return gitgate.Credential{}, fmt.Errorf("git-gate repo %s: the %s: %w", repo, what, errors.Unwrap(err))
		}
	}
	return cred, nil
}

// startGitGate starts the bottle's git gate on its socket in the shared run
// folder, which the init relays to 127.0.0.1:DefaultGitGatePort. Its
// detector knows the host's secret values and the proxy's tokens, so no
// commit carries one out either.
func (b *Bottle) startGitGate(repos []gitgate.Repo, tokens map[string]schemas.Secret, hostSecrets []schemas.Secret) (*gitgate.Gate, error) {
	if b.plan.GitGate == nil {
		return nil, nil
	}
	var vals []string
	for _, s := range hostSecrets {
		vals = append(vals, s.Reveal())
	}
	for _, t := range tokens {
		vals = append(vals, t.Reveal())
	}
	for _, r := range repos {
		if !r.Cred.Token.IsZero() {
			vals = append(vals, r.Cred.Token.Reveal())
		}
	}
	det, err := dlp.NewDetector(dlp.NewValues(vals))
	if err != nil {
		return nil, fmt.Errorf("git gate: %w", err)
	}
	l := b.l
	gate, err := gitgate.New(gitgate.Config{
		Bottle: b.info.ID, Repos: repos, Dir: b.rd.GitGate(), PATH: l.cfg.HostEnv["PATH"], Detector: det,
		Publisher: l.cfg.Publisher, Resolve: l.cfg.Proxy.Resolve, UpstreamCAFile: l.cfg.GitUpstreamCAFile, Logger: l.log,
	})
	if err != nil {
		return nil, err
	}
	sock := b.rd.SharedFile(GitSocket)
	ln, err := listenSocket(sock)
	if err != nil {
		return nil, fmt.Errorf("git gate: %w", err)
	}
	go func() { _ = gate.Serve(ln) }()
	return gate, nil
}

// listenSocket listens on a unix socket of the shared run folder that
// whatever user the bottle runs as may connect to (the run folder, 0700,
// keeps other host users out).
func listenSocket(path string) (net.Listener, error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
