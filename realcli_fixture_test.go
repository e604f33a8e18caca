package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// The CLI versions the real-CLI suite is verified with. scripts/setup.sh
// installs them from npm into the cache below; change them together.
const (
	claudeCodeVersion = "2.1.332"
	codexVersion      = "0.171.0"
)

// realCLIHosts are the names the scripted model answers for; the proxy
// dials it for each of them, so nothing resolves a real name.
var realCLIHosts = []string{planner.AnthropicHost, planner.ChatGPTHost, planner.OpenAIHost, "docs.test", "denied.test"}

// e2eCache is where scripts/setup.sh keeps the npm installs, keyed by
// version: $BOT_BOTTLE_E2E_CACHE, else ~/.cache/bot-bottle-e2e.
func e2eCache() string {
	if d := os.Getenv("BOT_BOTTLE_E2E_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "bot-bottle-e2e")
}

// realCLIPaths returns the native programs of the pinned CLIs: Claude
// Code's (a glibc executable) and Codex's (a static musl one), as the npm
// packages install them for linux-x64.
func realCLIPaths(t testing.TB) (claude, codex string) {
	t.Helper()
	cache := e2eCache()
	claude = filepath.Join(cache, "claude-code-"+claudeCodeVersion, "node_modules", "@anthropic-ai", "claude-code-linux-x64", "claude")
	codex = filepath.Join(cache, "codex-"+codexVersion, "node_modules", "@openai", "codex-linux-x64", "vendor",
		"x86_64-unknown-linux-musl", "bin", "codex")
	for _, p := range []string{claude, codex} {
		if _, err := os.Stat(p); err != nil {
			testreq.Missing(t, "the real agent CLIs (scripts/setup.sh installs them)", err)
		}
	}
	return claude, codex
}

// realE2E is a bot-bottle home with bottles for the real CLIs, a host
// home with a Codex ChatGPT login, and the scripted model behind the
// proxy for every provider host.
type realE2E struct {
	t        *testing.T
	bin      string
	backend  string // --backend
	runtime  string // the runtime its bottles ask for (docker), or ""
	home     string // BOT_BOTTLE_HOME
	hostHome string
	workdir  string
	caFile   string
	model    *scriptedModel
	upstream *httptest.Server
	env      []string
	// Credentials the proxy injects; none may reach a bottle.
	claudeToken, codexToken, openaiKey string
}

// newRealE2E sets up the real CLIs' bottles on variant, an entry of
// backends.
func newRealE2E(t *testing.T, variant string) *realE2E {
	t.Helper()
	e := &realE2E{t: t, bin: botBottle(t)}
	e.backend, e.runtime = backendOf(variant)
	requireBackend(t, variant, e.bin)
	claude, codex := realCLIPaths(t)
	base, err := os.MkdirTemp("", "bbreal-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	e.home, e.hostHome, e.workdir = filepath.Join(base, "bb"), filepath.Join(base, "home"), filepath.Join(base, "work")
	for _, d := range []string{filepath.Join(e.home, "bottles"), filepath.Join(e.hostHome, ".codex"), filepath.Join(e.workdir, "bin")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	if e.backend == "local" {
		// A local bottle sees the host's files but not the host's homes
		// (where the cache is): the CLIs go into the workdir, linked when
		// they can be. Claude Code's npm entry is its native program;
		// Codex's is a Node script that runs its platform package's
		// program, as `npm install -g` leaves them.
		linkOrCopy(t, claude, filepath.Join(e.workdir, "bin", "claude"))
		linkTree(t, codexNodeModules(codex), filepath.Join(e.workdir, ".cli", "node_modules"))
		must(t, os.Symlink(filepath.Join(e.workdir, ".cli", "node_modules", codexEntry), filepath.Join(e.workdir, "bin", "codex")))
	}
	e.claudeToken, e.openaiKey = "claude-tok-"+randomHex(), "sk-test-"+randomHex()
	e.codexToken = codexLogin(t, e.hostHome)
	e.writeBottles("", "")
	leaf, caPEM := upstreamPKI(t, realCLIHosts...)
	e.model = newScriptedModel(t, e.claudeToken, e.codexToken, e.openaiKey)
	e.upstream = httptest.NewUnstartedServer(e.model)
	e.upstream.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, NextProtos: []string{"http/1.1"}}
	e.upstream.StartTLS()
	t.Cleanup(e.upstream.Close)
	e.caFile = filepath.Join(base, "upstream-ca.pem")
	must(t, os.WriteFile(e.caFile, caPEM, 0o644))
	e.env = []string{"HOME=" + e.hostHome, "BOT_BOTTLE_HOME=" + e.home,
		"PATH=" + filepath.Join(e.workdir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TEST_CLAUDE_TOKEN=" + e.claudeToken, "TEST_OPENAI_KEY=" + e.openaiKey}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		e.env = append(e.env, "DOCKER_HOST="+h)
	}
	t.Cleanup(func() { _, _ = e.cli("cleanup") })
	return e
}

// writeBottles writes the bottles: claude (OAuth token), codex (the
// host's ChatGPT login forwarded) and codexkey (an API key), each also
// routing docs.test/public/; in the given images when set.
func (e *realE2E) writeBottles(claudeImage, codexImage string) {
	img := func(s string) string {
		if s == "" {
			return ""
		}
		return ", image: " + s
	}
	bottles := map[string]string{
		"claude":   "agent_provider: {template: claude, auth_token: TEST_CLAUDE_TOKEN" + img(claudeImage) + "}\n",
		"codex":    "agent_provider: {template: codex, forward_host_credentials: true" + img(codexImage) + "}\n",
		"codexkey": "agent_provider: {template: codex, api_key: TEST_OPENAI_KEY" + img(codexImage) + "}\n",
	}
	for name, manifest := range bottles {
		must(e.t, os.WriteFile(filepath.Join(e.home, "bottles", name+".yaml"),
			[]byte(runtimeLine(e.runtime)+manifest+"egress:\n  routes:\n    - {host: docs.test, path_allowlist: [/public/]}\n"), 0o644))
	}
}

func (e *realE2E) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	cmd.Dir = e.workdir
	return cmd
}

func (e *realE2E) cli(args ...string) (string, error) {
	out, err := e.command(args...).CombinedOutput()
	return string(out), err
}

// launchArgs launches bottle headless on prompt (or with command after
// --), its provider hosts answered by the scripted model.
func (e *realE2E) launchArgs(bottle, prompt string, command ...string) []string {
	args := []string{"launch", "--backend", e.backend, "--workdir", e.workdir, "--upstream-ca", e.caFile}
	for _, h := range realCLIHosts {
		args = append(args, "--resolve", h+":443="+e.upstream.Listener.Addr().String())
	}
	if prompt != "" {
		args = append(args, "--prompt", prompt)
	}
	args = append(args, bottle)
	if len(command) > 0 {
		args = append(append(args, "--"), command...)
	}
	return args
}

// run launches and waits, returning the exit code and output.
func (e *realE2E) run(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	cmd := e.command(args...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("launch: %v", err)
	}
	return code, e.redact(out.String()), e.redact(errb.String())
}

// denials returns the denials of bottle (every bottle if ""), as
// "host method path reason".
func (e *realE2E) denials(bottle string) []string {
	e.t.Helper()
	args := []string{"events", "--json"}
	if bottle != "" {
		args = append(args, "--bottle", bottle)
	}
	raw, err := e.command(args...).Output()
	if err != nil {
		e.t.Fatalf("events: %v", err)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev schemas.Event
		var d schemas.Denial
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Kind == schemas.KindDenial && ev.Decode(&d) == nil {
			out = append(out, fmt.Sprintf("%s %s %s %s", d.Host, d.Method, d.Path, d.Reason))
		}
	}
	return out
}

// redact keeps the credentials out of the test log, even when a check
// fails.
func (e *realE2E) redact(s string) string {
	return strings.NewReplacer(e.claudeToken, "<claude-token>", e.codexToken, "<codex-token>", e.openaiKey, "<openai-key>").Replace(s)
}

// assertNoToken checks that no credential appears in s.
func (e *realE2E) assertNoToken(where, s string) {
	e.t.Helper()
	for name, tok := range map[string]string{"the Claude token": e.claudeToken, "the Codex token": e.codexToken, "the OpenAI key": e.openaiKey} {
		if strings.Contains(s, tok) {
			e.t.Errorf("%s is visible in %s", name, where)
		}
	}
}

// codexEntry is Codex's npm entry point, relative to node_modules: what
// the codex command of an npm install runs.
const codexEntry = "@openai/codex/bin/codex.js"

// codexNodeModules is the node_modules folder holding Codex's npm package
// and its platform package with the native program.
func codexNodeModules(codex string) string {
	// node_modules/@openai/codex-linux-x64/vendor/<triple>/bin/codex
	return filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(codex))))))
}

// linkTree puts the tree at src at dst, file by file with linkOrCopy.
func linkTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		linkOrCopy(t, p, target)
		return nil
	})
	must(t, err)
}

// linkOrCopy puts src at dst: a hard link on the same file system, a copy
// otherwise.
func linkOrCopy(t testing.TB, src, dst string) {
	t.Helper()
	if os.Link(src, dst) == nil {
		return
	}
	in, err := os.Open(src)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	must(t, err)
	_, err = io.Copy(out, in)
	must(t, err)
	must(t, out.Close())
}

// codexAccount is the ChatGPT account of the host's Codex login.
const codexAccount = "acct-real-cli"

// codexLogin writes a host ~/.codex/auth.json as codex login leaves it: JWT
// tokens (unsigned here) whose claims name the account, its plan and an
// expiry an hour away, so Codex neither refreshes nor re-logs in. It
// returns the access token, which only the proxy may hold.
func codexLogin(t testing.TB, hostHome string) string {
	t.Helper()
	exp := time.Now().Add(time.Hour).Unix()
	claims := map[string]any{"exp": exp, "jti": randomHex(), "https://api.openai.com/auth": map[string]any{
		"chatgpt_account_id": codexAccount, "chatgpt_plan_type": "plus"}}
	jwt := func(c map[string]any) string {
		enc := base64.RawURLEncoding
		head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
		body, _ := json.Marshal(c)
		return enc.EncodeToString(head) + "." + enc.EncodeToString(body) + ".c2ln"
	}
	access := jwt(claims)
	auth, _ := json.Marshal(map[string]any{"OPENAI_API_KEY": nil, "last_refresh": time.Now().UTC().Format(time.RFC3339),
		"tokens": map[string]any{"id_token": jwt(claims), "access_token": access, "refresh_token": "refresh-" + randomHex(), "account_id": codexAccount}})
	must(t, os.WriteFile(filepath.Join(hostHome, ".codex", "auth.json"), auth, 0o600))
	return access
}
