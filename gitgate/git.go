package gitgate

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// The gate's git reads no config but what the gate gives it: no system or
// global file (the operator's credential helpers, url rewrites and hooks
// stay out), hooks pointed at /dev/null, prompts off, and only the https
// and ssh transports.

// baseEnv is the environment of every git the gate runs.
func (g *Gate) baseEnv() []string {
	return []string{
		"PATH=" + g.cfg.PATH,
		"HOME=" + filepath.Join(g.cfg.Dir, "home"),
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=/bin/false",
		"SSH_ASKPASS=/bin/false",
		"GIT_NO_REPLACE_OBJECTS=1",
	}
}

// gitConfig is a git config set through the environment (GIT_CONFIG_COUNT):
// off disk and out of every command line, where /proc would show it.
type gitConfig [][2]string

func (c gitConfig) env() []string {
	out := []string{"GIT_CONFIG_COUNT=" + strconv.Itoa(len(c))}
	for i, kv := range c {
		out = append(out, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return out
}

// safeConfig is what every git of the gate runs with.
var safeConfig = gitConfig{
	{"core.hooksPath", "/dev/null"},
	{"core.fsmonitor", "false"},
	{"protocol.allow", "never"},
	{"protocol.https.allow", "always"},
	{"protocol.ssh.allow", "always"},
	{"http.followRedirects", "false"},
	{"gc.auto", "0"},
	{"receive.fsckObjects", "true"},
	{"uploadpack.allowFilter", "true"},
}

// upstreamEnv is the environment for a git that talks to rs's upstream:
// the credential (an Authorization header scoped to the upstream's URL, or
// an ssh command with the key and strict host key checking) and the test
// seams (Resolve, UpstreamCAFile).
func (g *Gate) upstreamEnv(rs *repoState) []string {
	cfg := append(gitConfig{}, safeConfig...)
	env := g.baseEnv()
	u := rs.URL
	switch u.Scheme {
	case "https":
		prefix := "http." + u.String()
		if c := rs.Cred; c.Kind == "token" && !c.Token.IsZero() {
			basic := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Token.Reveal()))
			cfg = append(cfg, [2]string{prefix + ".extraHeader", "Authorization: Basic " + basic})
		}
		if g.cfg.UpstreamCAFile != "" {
			cfg = append(cfg, [2]string{"http.sslCAInfo", g.cfg.UpstreamCAFile})
		}
		port := u.Port
		if port == 0 {
			port = 443
		}
		if addr, ok := g.cfg.Resolve[net.JoinHostPort(u.Host, strconv.Itoa(port))]; ok {
			if ip, _, err := net.SplitHostPort(addr); err == nil {
				cfg = append(cfg, [2]string{"http.curloptResolve", fmt.Sprintf("%s:%d:%s", u.Host, port, ip)})
			}
		}
	case "ssh":
		env = append(env, "GIT_SSH_COMMAND="+g.sshCommand(rs), "GIT_SSH_VARIANT=ssh")
	}
	return append(env, cfg.env()...)
}

// sshCommand is the ssh the gate's git runs for rs: the operator's key
// only, strict host key checking against the named known_hosts, no ssh
// config, no agent, no prompt.
func (g *Gate) sshCommand(rs *repoState) string {
	args := []string{"ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ForwardAgent=no", "-o", "ClearAllForwardings=yes"}
	if c := rs.Cred; c.Kind == "ssh" {
		args = append(args, "-i", c.KeyFile)
		if c.KnownHostsFile != "" {
			args = append(args, "-o", "UserKnownHostsFile="+c.KnownHostsFile)
		}
	}
	port := rs.URL.Port
	if port == 0 {
		port = 22
	}
	if addr, ok := g.cfg.Resolve[net.JoinHostPort(rs.URL.Host, strconv.Itoa(port))]; ok {
		if ip, p, err := net.SplitHostPort(addr); err == nil {
			args = append(args, "-o", "HostKeyAlias="+rs.URL.Host, "-o", "HostName="+ip, "-o", "Port="+p)
		}
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for sh (GIT_SSH_COMMAND runs through the shell).
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || unicode.IsLetter(r) || unicode.IsDigit(r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// localEnv is the environment for a git that works on rs's mirror only.
func (g *Gate) localEnv(rs *repoState, extra ...string) []string {
	env := append(g.baseEnv(), "GIT_DIR="+rs.mirror)
	env = append(env, safeConfig.env()...)
	return append(env, extra...)
}

// run runs git with env in dir and returns its stdout; the error carries
// its last stderr lines, cleaned for a person.
func (g *Gate) run(ctx context.Context, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.cfg.Git, args...)
	cmd.Env = env
	cmd.Dir = g.cfg.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gitErr{args: args[0], err: err, stderr: tail(stderr.String(), 4)}
	}
	return stdout.Bytes(), nil
}

// gitErr is a git command that failed.
type gitErr struct {
	args   string
	err    error
	stderr string
}

func (e *gitErr) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("git %s: %v", e.args, e.err)
	}
	return fmt.Sprintf("git %s: %v: %s", e.args, e.err, e.stderr)
}

func (e *gitErr) Unwrap() error { return e.err }

// tail returns the last n non-empty lines of s, cleaned of control
// characters and joined with "; ".
func tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = cleanLine(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// cleanLine drops control and format characters and bounds a line from
// git or an upstream before a person or the agent reads it.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// quoteAgent renders text the agent wrote (a repo name it asked for, a
// file name in its commit) as a quoted Go string: no control character,
// no way to end the quote.
func quoteAgent(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.QuoteToGraphic(strings.ToValidUTF8(s, "?"))
}
