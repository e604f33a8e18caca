package docker

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/internal/cgroupfs"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// resources turns the plan's limits into the container's. Swap is held to
// the memory limit (MemorySwap = Memory), so swapping out is no way
// around it; unlimited fields are left to the daemon's defaults (none).
func resources(r schemas.PlannedResources) container.Resources {
	var out container.Resources
	if r.MemoryBytes > 0 {
		out.Memory, out.MemorySwap = r.MemoryBytes, r.MemoryBytes
	}
	if r.CPUs > 0 {
		out.NanoCPUs = int64(math.Round(r.CPUs * 1e9))
	}
	if r.Pids > 0 {
		out.PidsLimit = &r.Pids
	}
	return out
}

// runtimeResources adapts the plan's limits to the runtime. Under gVisor's
// runsc the container's pids count holds the sandbox's own threads and its
// file server beside the agent's processes, so a limit low enough to stop
// a fork loop starves the sandbox instead (its workdir mounts fail with
// I/O errors at pids 64). A pids limit the manifest asked for is refused
// there; the default one is left out, with a warning unless a memory
// limit is set (it bounds a fork loop: a warning on every launch would
// teach people to skip warnings). Memory and CPU bound the whole sandbox,
// the agent's processes included.
func runtimeResources(r schemas.PlannedResources, runtime string) (schemas.PlannedResources, []string, error) {
	if runtime != schemas.RuntimeRunsc || r.Pids == 0 {
		return r, nil, nil
	}
	if origin := r.Origin["pids"]; origin != "" && origin != schemas.OriginDefault {
		return r, nil, fmt.Errorf("resources.pids (%d, set at %s) cannot be enforced under runsc: gVisor's own threads share the container's pids count, so a limit starves the sandbox rather than the agent's forks; remove it (a memory limit bounds a fork loop there), or set runtime: runc",
			r.Pids, origin)
	}
	out := r
	out.Pids = 0
	if r.MemoryBytes > 0 {
		return out, nil, nil // the memory limit bounds a fork loop
	}
	return out, []string{fmt.Sprintf("docker/runsc: the default resources.pids (%d) is not applied under gVisor, whose own threads share the count; set resources.memory to bound a fork loop", r.Pids)}, nil
}

// checkCreateWarnings fails when the daemon says it dropped a limit (a
// kernel without the controller: "... Limitation discarded."), and
// returns its other warnings (swap not limited, say) for the launch to
// pass on.
func checkCreateWarnings(ws []string) ([]string, error) {
	var out []string
	for _, w := range ws {
		if strings.Contains(strings.ToLower(w), "discarded") {
			return nil, fmt.Errorf("the Docker Engine cannot enforce the bottle's resource limits: %s", w)
		}
		out = append(out, "docker: "+w)
	}
	return out, nil
}

// limitWatch counts how the container met its limits: OOM kills from the
// Engine's events (and its final state), refused forks from the pids
// cgroup the Engine made, when this host can see it (a local daemon).
type limitWatch struct {
	res      schemas.PlannedResources
	warnings []string
	oom      atomic.Int64

	cancel context.CancelFunc

	pidsOnce sync.Once
	pidsDir  string // "" when the container's pids cgroup is not visible here
}

// watchOOM follows the Engine's oom events for the container until
// stop. It must start before the container, so no event is missed.
func (w *limitWatch) watchOOM(cli *client.Client, id string) {
	if w.res.MemoryBytes == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	f := client.Filters{}.Add("type", string(events.ContainerEventType)).Add("container", id).Add("event", string(events.ActionOOM))
	res := cli.Events(ctx, client.EventsListOptions{Filters: f})
	go func() {
		for {
			select {
			case <-res.Messages:
				w.oom.Add(1)
			case <-res.Err:
				return
			}
		}
	}()
}

// stop ends the event subscription.
func (w *limitWatch) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

// findPids locates the container's pids cgroup through its init's
// /proc/PID/cgroup, once. A folder that does not name the container (a
// rootless daemon's pid namespace, a remote daemon) is not trusted.
func (w *limitWatch) findPids(cli *client.Client, id string) string {
	w.pidsOnce.Do(func() {
		if w.res.Pids == 0 {
			return
		}
		// Bounded: the launcher waits for this poll before it tears down.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || ins.Container.State == nil || ins.Container.State.Pid <= 0 {
			return
		}
		v, err := cgroupfs.Read(ins.Container.State.Pid)
		if err != nil {
			return
		}
		if dir := v.Dir("pids"); strings.Contains(dir, id) {
			w.pidsDir = dir
		}
	})
	return w.pidsDir
}

// LimitHits reads the container's counters.
func (p *process) LimitHits() (schemas.LimitHits, bool) {
	h := schemas.LimitHits{OOMKills: int(p.limits.oom.Load())}
	if dir := p.limits.findPids(p.cli, p.id); dir != "" {
		h.PidsRefused = cgroupfs.KeyedValue(dir+"/pids.events", "max")
	}
	return h, true
}

// Warnings returns what the daemon said when it took the limits.
func (p *process) Warnings() []string { return p.limits.warnings }

// noteExit reads the exited container's OOMKilled, which covers an OOM the
// event stream did not deliver.
func (p *process) noteExit(ctx context.Context) {
	if p.limits.res.MemoryBytes == 0 {
		return
	}
	ins, err := p.cli.ContainerInspect(ctx, p.id, client.ContainerInspectOptions{})
	if err == nil && ins.Container.State != nil && ins.Container.State.OOMKilled && p.limits.oom.Load() == 0 {
		p.limits.oom.Store(1)
	}
}
