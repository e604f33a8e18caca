package schemas

import (
	"fmt"
	"slices"
	"strings"
)

// Container runtimes a docker bottle can run under (the manifest's
// `runtime` key). runsc is gVisor's: a kernel in user space between the
// agent and the host's, so a bug in the host kernel's system calls is not
// reachable from the bottle. auto, the default, chooses runsc when Docker
// has it registered and runc otherwise.
const (
	RuntimeAuto  = "auto"
	RuntimeRunc  = "runc"
	RuntimeRunsc = "runsc"
)

// Runtimes lists the valid values of `runtime`.
var Runtimes = []string{RuntimeAuto, RuntimeRunc, RuntimeRunsc}

// RegisterRunsc tells a person how to give Docker the runsc runtime. The
// runtime arguments are the ones bottles need: --host-uds=open (the
// bottle's only way out is a host unix socket, its proxy's),
// --network=none (a bottle has no network but its loopback; runsc's own
// network setup refuses recent kernels) and a platform that works on the
// machine.
const RegisterRunsc = `install gVisor's runsc (Debian: apt-get install runsc) and register it with Docker: ` +
	`"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--host-uds=open", "--network=none", "--platform=ptrace"]}} ` +
	`in /etc/docker/daemon.json (--platform=kvm where /dev/kvm exists), then kill -HUP $(pidof dockerd); scripts/setup.sh does both`

// RuntimeError says why this host cannot give a bottle the runtime it asked
// for (Msg) and what to do about it (Hint).
type RuntimeError struct {
	Runtime, Msg, Hint string
}

func (e *RuntimeError) Error() string {
	return "runtime " + e.Runtime + ": " + e.Msg + ": " + e.Hint
}

// validateRuntime checks the manifest's runtime key, when it is written.
func (m *Manifest) validateRuntime() Errors {
	at, set := m.KeyAt["runtime"]
	if !set {
		return nil
	}
	switch {
	case m.Runtime == "":
		return Errors{{At: at, Key: "runtime", Msg: "has no value", Hint: "one of " + strings.Join(Runtimes, ", ") + "; remove the key for auto"}}
	case strings.EqualFold(m.Runtime, "gvisor"):
		return Errors{{At: at, Key: "runtime", Msg: fmt.Sprintf("unknown runtime %q", m.Runtime), Hint: `gVisor's runtime is called runsc: runtime: runsc`}}
	case !slices.Contains(Runtimes, m.Runtime):
		return Errors{{At: at, Key: "runtime", Msg: fmt.Sprintf("unknown runtime %q", clip(m.Runtime, 40)), Hint: oneOf(m.Runtime, Runtimes)}}
	}
	return nil
}

// ResolveRuntime chooses the runtime of a docker bottle that asked for
// requested (a value of Runtimes, "" meaning auto), given the runtimes the
// Docker daemon has registered. A bottle that asks for runsc where Docker
// has none is refused (a *RuntimeError), never run under runc instead.
func ResolveRuntime(requested string, registered []string) (string, error) {
	switch requested {
	case "", RuntimeAuto:
		if slices.Contains(registered, RuntimeRunsc) {
			return RuntimeRunsc, nil
		}
		return RuntimeRunc, nil
	case RuntimeRunc:
		return RuntimeRunc, nil
	case RuntimeRunsc:
		if slices.Contains(registered, RuntimeRunsc) {
			return RuntimeRunsc, nil
		}
		have := "none"
		if len(registered) > 0 {
			have = strings.Join(registered, ", ")
		}
		return "", &RuntimeError{Runtime: RuntimeRunsc, Msg: "this host's Docker has no runtime called runsc registered (it has " + have + ")",
			Hint: RegisterRunsc + "; or set runtime: auto"}
	}
	return "", fmt.Errorf("unknown runtime %q (one of %s)", clip(requested, 40), strings.Join(Runtimes, ", "))
}

// RuntimeNote says in a few words what a resolved runtime is.
func RuntimeNote(runtime string) string {
	switch runtime {
	case RuntimeRunsc:
		return "gVisor: the bottle's system calls go to a kernel in user space"
	case RuntimeRunc:
		return "runc: the bottle's system calls go to the host kernel"
	}
	return ""
}

// clip cuts s to n bytes for an error message.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
