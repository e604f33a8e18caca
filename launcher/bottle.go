package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/gitgate"
	"github.com/bot-bottle/bot-bottle/internal/termguard"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// teardownTimeout bounds the proxy's graceful shutdown and the backend's
// cleanup when a bottle ends.
const teardownTimeout = 10 * time.Second

// Bottle is a running bottle owned by this process.
type Bottle struct {
	l    *Launcher
	plan *schemas.Plan
	rd   RunDir

	mu       sync.Mutex
	info     Info
	stopping bool // a stop was asked for; applied as soon as there is a process

	proxy   *egressproxy.Proxy
	surface *http.Server
	gate    *gitgate.Gate // nil when the bottle has no git-gate
	out     *outputLog
	guards  []*termguard.Writer // the person's streams, closed once the output has ended
	proc    Process

	// home is the agent's home on the host: the kept one (AgentHomePath),
	// whose lock homeLock holds until the processes are gone, or, when
	// another running bottle keeps that, a home of its own in the run
	// folder (homeLock nil), which homeNotice tells the person about.
	home       string
	homeLock   *homeLock
	homeNotice string

	workdirLock  *workdirLock // held from before the start until the processes are gone
	heldWorkdir  bool         // workdirLock was taken: the teardown sweeps and removes placeholders
	workdirSince time.Time    // when protection began: what changed after is the bottle's
	notices      []string     // from the workdir sweep, for the operator

	stopWatch   context.CancelFunc
	stopWatchWG sync.WaitGroup

	followWG sync.WaitGroup
	limits   limitWatch

	done chan struct{}
	code int
	err  error
}

func newBottle(l *Launcher, plan *schemas.Plan, in Info, rd RunDir) *Bottle {
	return &Bottle{l: l, plan: plan, rd: rd, info: in, done: make(chan struct{})}
}

// ID returns the bottle id.
func (b *Bottle) ID() string { return b.info.ID }

// Plan returns the plan the bottle was launched from.
func (b *Bottle) Plan() *schemas.Plan { return b.plan }

// Proxy returns the bottle's live egress proxy: Routes and Reload act on it.
func (b *Bottle) Proxy() *egressproxy.Proxy { return b.proxy }

// Gate returns the bottle's git gate, nil when its plan has no git-gate.
func (b *Bottle) Gate() *gitgate.Gate { return b.gate }

// Info returns what the registry says about the bottle, as of now.
func (b *Bottle) Info() Info {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.info
}

// Done is closed when the bottle has ended and everything it held is gone.
func (b *Bottle) Done() <-chan struct{} { return b.done }

// Wait waits for the bottle to end and returns its command's exit code
// (128+N for signal N), or ctx's error.
func (b *Bottle) Wait(ctx context.Context) (int, error) {
	select {
	case <-b.done:
		return b.code, b.err
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Stop asks the command to end (SIGTERM, then SIGKILL after the grace
// period) and waits until the bottle is gone or ctx ends.
func (b *Bottle) Stop(ctx context.Context) error {
	b.requestStop("stop")
	_, err := b.Wait(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("stop bottle %s: %w", b.ID(), err)
	}
	return nil
}

// requestStop starts stopping the bottle once; later calls do nothing. A
// request that arrives while the bottle is still starting is applied when
// its process exists (see setProcess).
func (b *Bottle) requestStop(reason string) {
	select {
	case <-b.done:
		return
	default:
	}
	b.mu.Lock()
	if b.stopping {
		b.mu.Unlock()
		return
	}
	b.stopping = true
	proc := b.proc
	b.mu.Unlock()
	b.l.log.Info("stopping bottle", "bottle", b.ID(), "reason", reason)
	b.publish(context.Background(), schemas.StateStopping, nil, "")
	if proc != nil {
		proc.Stop(b.l.cfg.StopGrace)
	}
}

// setProcess records the started process, and stops it at once if a stop
// was asked for while it was starting.
func (b *Bottle) setProcess(proc Process, containerID string) {
	b.mu.Lock()
	b.proc = proc
	b.info.ContainerID = containerID
	stopping := b.stopping
	b.mu.Unlock()
	if stopping {
		proc.Stop(b.l.cfg.StopGrace)
	}
}

// run starts the followers, waits for the command and tears the bottle
// down.
func (b *Bottle) run() {
	ctx, cancel := context.WithCancel(context.Background())
	for _, f := range b.l.cfg.Followers {
		b.followWG.Add(1)
		go func() {
			defer b.followWG.Done()
			f(ctx, b)
		}()
	}
	finishLimits := b.watchLimits()
	code, err := b.proc.Wait()
	cancel()
	b.stopWatching() // a stop request for a bottle whose processes are gone is moot
	b.followWG.Wait()
	finishLimits()
	state, msg := schemas.StateExited, ""
	if err != nil {
		state, msg = schemas.StateFailed, err.Error()
	}
	b.teardown(func() { b.recordEnd(state, &code, msg) })
	b.finish(&code, err)
}

// abort ends a bottle whose launch failed part-way.
func (b *Bottle) abort(cause error) {
	if b.proc != nil {
		b.proc.Stop(0)
		_, _ = b.proc.Wait()
	}
	b.stopWatching()
	b.teardown(func() { b.recordEnd(schemas.StateFailed, nil, cause.Error()) })
	b.finish(nil, cause)
}

// teardown removes everything the bottle held, once its processes are
// gone, in two parts, each bounded to maxTeardowns bottles at a time by a
// set of slots of its own (so that ends are not recorded behind the
// cleanups of others): first
// what the end must report or free at once (the proxy and the surfaces,
// the agent home's lock, the kept output, the workdir's lock and sweep,
// whose notices the end carries); then recordEnd records the end; then
// the host-side cleanup that may be slow (cgroups or container,
// placeholders, the run folder) runs without holding up that record. The
// run folder goes last: until then its record names what is left, so that
// the next owner's cleanup removes it should this process die first.
func (b *Bottle) teardown(recordEnd func()) {
	var errs []error
	withSlot(b.l.ends, func() { errs = b.releaseLive() })
	recordEnd()
	withSlot(b.l.teardowns, func() { errs = append(errs, b.cleanUpHost()...) })
	if err := errors.Join(errs...); err != nil {
		b.l.log.Warn("tear down bottle", "bottle", b.ID(), "err", err)
	}
}

// withSlot runs fn holding one of slots.
func withSlot(slots chan struct{}, fn func()) {
	slots <- struct{}{}
	defer func() { <-slots }()
	fn()
}

// releaseLive is the first part of teardown: proxy, git gate, agent
// surface, the home's lock, the person's streams, the kept output, the
// workdir's lock and sweep.
func (b *Bottle) releaseLive() []error {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	var errs []error
	if b.proxy != nil {
		if err := b.proxy.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("proxy: %w", err))
		}
	}
	if b.gate != nil {
		_ = b.gate.Close()
	}
	if b.surface != nil {
		_ = b.surface.Close()
	}
	b.homeLock.release()
	for _, g := range b.guards {
		_ = g.Close() // a string the bottle left open is closed on the person's terminal
	}
	if b.out != nil {
		_ = b.out.Close()
	}
	if err := keepLog(b.l.cfg.Home, b.ID(), b.rd); err != nil {
		errs = append(errs, err)
	}
	if err := b.releaseWorkdir(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// cleanUpHost is the second part of teardown: the backend's release
// (cgroups, container), the workdir's placeholders, the run folder.
func (b *Bottle) cleanUpHost() []error {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	var errs []error
	if b.proc != nil {
		if err := b.proc.Release(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := b.removePlaceholders(); err != nil {
		errs = append(errs, err)
	}
	if err := b.rd.remove(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// recordEnd records the bottle's end on the channel and waits until the
// store has it.
func (b *Bottle) recordEnd(state string, code *int, msg string) {
	b.publish(context.Background(), state, code, msg)
	b.l.flush(context.Background())
}

// finish releases the bottle's waiters, once everything it held is gone.
func (b *Bottle) finish(code *int, err error) {
	b.l.untrack(b)
	if code != nil {
		b.code = *code
	} else {
		b.code = -1
	}
	b.err = err
	close(b.done)
}

// stopWatching stops following stop requests.
func (b *Bottle) stopWatching() {
	if b.stopWatch != nil {
		b.stopWatch()
		b.stopWatchWG.Wait()
	}
}

// record stores a lifecycle change in the registry before it returns,
// rather than publishing it: the launch's first event is the proof that
// the store can record the bottle at all. Without a registry it publishes.
func (b *Bottle) record(ctx context.Context, state string) error {
	reg := b.l.cfg.Registry
	if reg == nil {
		b.publish(ctx, state, nil, "")
		return nil
	}
	ev, err := b.lifecycleEvent(state, nil, "")
	if err != nil {
		return err
	}
	_, err = reg.Append(ctx, []schemas.Event{ev})
	return err
}

// lifecycleEvent records a change of state in the bottle's Info and
// returns the event that says so.
func (b *Bottle) lifecycleEvent(state string, code *int, msg string) (schemas.Event, error) {
	b.mu.Lock()
	b.info.State, b.info.ExitCode, b.info.Error = state, code, msg
	b.info.Since = time.Now().UTC()
	lc := b.info.lifecycle()
	b.mu.Unlock()
	return schemas.NewEvent(b.info.ID, schemas.KindLifecycle, lc)
}

// publish records a lifecycle change on the channel (and so in the
// registry).
func (b *Bottle) publish(ctx context.Context, state string, code *int, msg string) {
	ev, err := b.lifecycleEvent(state, code, msg)
	if err != nil {
		b.l.log.Error("lifecycle event", "bottle", b.info.ID, "err", err)
		return
	}
	b.l.cfg.Publisher.Publish(ev)
}

// guard returns w behind a terminal guard, kept to be closed when the
// bottle's output has ended; nil stays nil.
func (b *Bottle) guard(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	g := termguard.New(w)
	b.guards = append(b.guards, g)
	return g
}
