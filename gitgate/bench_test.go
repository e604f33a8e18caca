package gitgate

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/internal/gitupstream"
)

// pushBenchCommits is the length of the branch the push benchmark sends.
const pushBenchCommits = 1000

// BenchmarkPushThroughGateVsDirect pushes one new branch of 1,000 commits
// through the gate, and the same branch directly to a copy of the same
// repo on the same upstream, and reports the ratio of the two (gate/direct)
// and the throughput of the gate's scan of those commits (git log -p and
// the detector, as the gate runs them). Each iteration starts from fresh
// repos, so neither push finds its objects already upstream. The numbers
// are from one run on a noisy machine: run it with -benchtime=1x and read
// the ratio, not the times.
func BenchmarkPushThroughGateVsDirect(b *testing.B) {
	var ratio, commitsPerSec, mbPerSec float64
	for range b.N {
		b.StopTimer()
		r, c, m := pushGateVsDirect(b)
		ratio, commitsPerSec, mbPerSec = ratio+r, commitsPerSec+c, mbPerSec+m
	}
	n := float64(b.N)
	b.ReportMetric(ratio/n, "gate/direct")
	b.ReportMetric(commitsPerSec/n, "scan-commits/s")
	b.ReportMetric(mbPerSec/n, "scan-MB/s")
}

// pushGateVsDirect is one iteration: it returns the gate/direct ratio of
// the push times, and the scan's commits and MB per second.
func pushGateVsDirect(b *testing.B) (ratio, commitsPerSec, mbPerSec float64) {
	token := dlptest.Random(32)
	f := newGateFixture(b, token, nil)
	// The direct push's target: the same repo, same upstream server.
	direct := filepath.Join(f.up.Root, "direct.git")
	gitupstream.Git(b, f.up.Root, "clone", "--bare", "--quiet", f.bare, direct)
	dir := f.clone(b)
	base := strings.TrimSpace(gitupstream.Git(b, dir, "rev-parse", "HEAD"))
	makeBranch(b, dir, base, "agent/long", pushBenchCommits)
	tip := strings.TrimSpace(gitupstream.Git(b, dir, "rev-parse", "agent/long"))

	start := time.Now()
	f.mustAgent(b, dir, "push", "--quiet", "origin", "agent/long")
	gate := time.Since(start)

	// The credential goes in the environment, not argv: a failure prints
	// the arguments.
	env := []string{"GIT_CONFIG_COUNT=3",
		"GIT_CONFIG_KEY_0=http.sslCAInfo", "GIT_CONFIG_VALUE_0=" + f.up.CAFile,
		"GIT_CONFIG_KEY_1=http.curloptResolve", fmt.Sprintf("GIT_CONFIG_VALUE_1=git.test:%d:127.0.0.1", f.up.Port),
		"GIT_CONFIG_KEY_2=http.extraHeader", "GIT_CONFIG_VALUE_2=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))}
	start = time.Now()
	if _, err := gitupstream.GitErr(dir, env, "push", "--quiet", f.up.URL("direct"), "agent/long"); err != nil {
		b.Fatalf("direct push: %v", strings.ReplaceAll(err.Error(), token, "[token]"))
	}
	directT := time.Since(start)

	if got := gitupstream.Ref(b, f.bare, "refs/heads/agent/long"); got != tip {
		b.Fatalf("through the gate, upstream has agent/long at %q, want %s", got, tip)
	}
	if got := gitupstream.Ref(b, direct, "refs/heads/agent/long"); got != tip {
		b.Fatalf("directly, upstream has agent/long at %q, want %s", got, tip)
	}
	ps := f.pushes(b)
	if len(ps) != 1 || ps[0].Commits != pushBenchCommits || ps[0].Verdict == "" {
		b.Fatalf("git.push events: %+v, want one scanning %d commits", ps, pushBenchCommits)
	}

	// The gate's scan on its own, over the same commits.
	det, err := dlp.NewDetector(nil)
	if err != nil {
		b.Fatal(err)
	}
	scanEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	git, err := exec.LookPath("git")
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	p, err := logScan(context.Background(), git, dir, scanEnv, []string{tip, "--not", base}, det, 1<<40)
	scanT := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if len(p.findings) != 0 {
		b.Fatalf("the clean branch has findings: %+v", p.findings)
	}
	b.Logf("push of %d commits: through the gate %v, direct %v, ratio %.2f; scan of %d bytes in %v",
		pushBenchCommits, gate.Round(time.Millisecond), directT.Round(time.Millisecond), float64(gate)/float64(directT),
		p.total, scanT.Round(time.Millisecond))
	return float64(gate) / float64(directT), pushBenchCommits / scanT.Seconds(), float64(p.total) / 1e6 / scanT.Seconds()
}

// makeBranch writes branch with n commits on top of base, each changing
// one of 50 source files, with git fast-import (a thousand `git commit`
// runs would take longer than the pushes being measured).
func makeBranch(t testing.TB, dir, base, branch string, n int) {
	t.Helper()
	var s bytes.Buffer
	for i := range n {
		msg := fmt.Sprintf("change %d\n", i)
		body := fmt.Sprintf("package x\n\n// change %d\nvar V%d = %q\n", i, i, strings.Repeat("x", 200))
		fmt.Fprintf(&s, "commit refs/heads/%s\ncommitter t <t@example.invalid> %d +0000\ndata %d\n%s", branch, 1700000000+i, len(msg), msg)
		if i == 0 {
			fmt.Fprintf(&s, "from %s\n", base)
		}
		fmt.Fprintf(&s, "M 100644 inline f%03d.go\ndata %d\n%s\n", i%50, len(body), body)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Stdin = dir, &s
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v: %s", err, out)
	}
}
