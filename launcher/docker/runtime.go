package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/moby/moby/client"
)

var _ launcher.RuntimeChooser = (*Backend)(nil)

// Runtimes lists the container runtimes the daemon has registered, sorted.
// Docker re-reads them from daemon.json on SIGHUP, so they are asked for
// each time, never cached.
func (b *Backend) Runtimes(ctx context.Context) ([]string, error) {
	reg, err := b.registered(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(reg))
	for name := range reg {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// registered returns the daemon's runtimes with their arguments.
func (b *Backend) registered(ctx context.Context) (map[string][]string, error) {
	cli, err := b.Client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker backend: ask the daemon at %s for its runtimes: %w", cli.DaemonHost(), err)
	}
	out := make(map[string][]string, len(res.Info.Runtimes))
	for name, rt := range res.Info.Runtimes {
		out[name] = rt.Args
	}
	return out, nil
}

// ChooseRuntime resolves a bottle's runtime (schemas.Runtimes) against the
// daemon's: runsc when asked for or, with auto, when Docker has it. A
// runsc registered so that no bottle could work under it is refused, with
// or without auto, rather than left to fail inside the bottle.
func (b *Backend) ChooseRuntime(ctx context.Context, requested string) (string, error) {
	if requested == schemas.RuntimeRunc {
		return schemas.RuntimeRunc, nil // runc is always there: no need to ask
	}
	reg, err := b.registered(ctx)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(reg))
	for name := range reg {
		names = append(names, name)
	}
	slices.Sort(names)
	rt, err := schemas.ResolveRuntime(requested, names)
	if err != nil {
		return "", fmt.Errorf("docker backend: %w", err)
	}
	if rt == schemas.RuntimeRunsc && !hostUDSOpen(reg[rt]) {
		return "", fmt.Errorf("docker backend: %w", &schemas.RuntimeError{Runtime: rt,
			Msg:  fmt.Sprintf("Docker has runsc registered with the arguments %q, without --host-uds=open: under it a bottle cannot connect to its proxy's socket, its only way out", reg[rt]),
			Hint: schemas.RegisterRunsc + "; or set runtime: runc"})
	}
	return rt, nil
}

// hostUDSOpen reports whether runsc arguments let the sandbox connect to a
// host unix socket (--host-uds=open or all; runsc's default is none).
func hostUDSOpen(args []string) bool {
	open := false
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "host-uds" || !strings.HasPrefix(a, "-") {
			continue
		}
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
		}
		open = val == "open" || val == "all" // the last one counts, as for runsc's flag parser
	}
	return open
}

// runtimeStartHint explains a start that runsc refused, where the fix is in
// how runsc is registered rather than in the bottle.
func runtimeStartHint(runtime string, err error) error {
	if runtime != schemas.RuntimeRunsc || err == nil {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "network enabled in root network namespace"):
		// Old runsc releases take a kernel whose network namespaces have
		// net.core.rmem_default (Linux 6.x) for the host's own.
		return fmt.Errorf("%w: runsc tried to set up a network the bottle does not have: register it with the runtime argument --network=none (%s)", err, schemas.RegisterRunsc)
	case strings.Contains(msg, "platform"):
		return fmt.Errorf("%w: runsc's platform does not work on this machine: register it with --platform=ptrace, or --platform=kvm where /dev/kvm exists (%s)", err, schemas.RegisterRunsc)
	}
	return err
}
