package netns

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
)

// A probe is a whole process of the bot-bottle binary (the Go runtime and
// every package's start), which was a fifth of a launch's CPU, and every
// `bot-bottle launch` is a new process. What a probe proves holds until
// the machine changes: this boot of the kernel, this user, this binary and
// the knobs that allow unprivileged user namespaces. WithProbeCache keeps
// that proof in a file; a later process whose facts match skips the probe.
// The proof is a convenience, never a permission: a bottle whose
// namespaces the kernel refuses does not start either way, and a start
// that fails after a remembered probe probes again, so the error still
// says what is wrong (Start).

// ProbeCacheFile is the probe cache's name in the bot-bottle home.
const ProbeCacheFile = "local-probe"

// userNSKnobs are the settings that allow or refuse unprivileged user
// namespaces; a changed value invalidates a remembered probe.
var userNSKnobs = []string{
	"/proc/sys/user/max_user_namespaces",
	"/proc/sys/kernel/unprivileged_userns_clone",
	"/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
	"/proc/sys/kernel/yama/ptrace_scope",
}

// WithProbeCache makes b remember a successful probe in the file path
// (the bot-bottle home's local-probe) and returns b.
func (b *Backend) WithProbeCache(path string) *Backend {
	b.probeCache = path
	return b
}

// probeFacts describes what a probe of exe, run now, would prove: the
// boot, the user, the binary (device, inode, size, modification time)
// and userNSKnobs. An error means the facts cannot be known, and the
// probe runs.
func probeFacts(exe string) (string, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("stat %s: no device and inode", exe)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "bot-bottle local probe v1\nboot %s\nuid %d gid %d\nexe %d:%d %d %d\n",
		strings.TrimSpace(string(boot)), os.Geteuid(), os.Getegid(), st.Dev, st.Ino, fi.Size(), fi.ModTime().UnixNano())
	for _, k := range userNSKnobs {
		v, err := os.ReadFile(k)
		val := strings.TrimSpace(string(v))
		if err != nil {
			val = "-" // absent on this kernel: absent it must stay
		}
		fmt.Fprintf(&sb, "%s %s\n", k, val)
	}
	return sb.String(), nil
}

// probeRemembered reports whether the cache holds exactly facts.
func (b *Backend) probeRemembered(facts string) bool {
	if b.probeCache == "" || facts == "" {
		return false
	}
	data, err := os.ReadFile(b.probeCache)
	return err == nil && string(data) == facts
}

// rememberProbe writes facts to the cache. A cache that cannot be written
// costs the next launch a probe, nothing more.
func (b *Backend) rememberProbe(facts string) {
	if b.probeCache == "" || facts == "" {
		return
	}
	_ = atomicfile.Write(b.probeCache, []byte(facts), 0o600)
}

// forgetProbe removes the cache after a start failed.
func (b *Backend) forgetProbe() {
	if b.probeCache != "" {
		_ = os.Remove(b.probeCache)
	}
}
