package cli

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/prometheus/client_golang/prometheus"
)

// bottleRuntime is what the bottle commands share: the event store (the
// registry), the bus that writes to it, and the launcher that owns this
// process's bottles.
type bottleRuntime struct {
	c        *cli
	home     string
	store    events.Store
	bus      *events.Bus
	launcher *launcher.Launcher
	// metrics gathers the store's, the bus's and every bottle proxy's
	// metrics (the proxies label theirs with the bottle id).
	metrics *prometheus.Registry
	// backends are closed last (serve's local backend ends its spawner).
	backends []launcher.Backend
}

// proxyFlags are launch options for the bottle's proxy.
type proxyFlags struct {
	resolve    []string // HOST:PORT=ADDR
	upstreamCA string
	dlpHold    time.Duration // how long a request held by DLP waits for the operator; 0: the default
}

// openRuntime opens the store in the home and builds a launcher with the
// backends of this machine: local first on Linux (the default), then
// docker.
func (c *cli) openRuntime(pf proxyFlags) (*bottleRuntime, error) {
	return c.openRuntimeWith(pf, 0, false)
}

// openOwnerRuntime is openRuntime for a process that owns bottles (launch,
// serve): its bus sets disk aside for the events it may be unable to
// store before it exits (a full disk is often the store's own doing).
func (c *cli) openOwnerRuntime(pf proxyFlags) (*bottleRuntime, error) {
	return c.openRuntimeWith(pf, ownerSpoolReserve, false)
}

// openServerRuntime is openOwnerRuntime for serve, a long-lived owner of
// many bottles: its local bottles start through a spawner
// (netns.WithSpawner), so a launch does not cost a fork of a process that
// grows with every bottle it owns. launch owns one bottle and stays
// small: a spawner would only add a process start to its launch.
func (c *cli) openServerRuntime(pf proxyFlags) (*bottleRuntime, error) {
	return c.openRuntimeWith(pf, ownerSpoolReserve, true)
}

func (c *cli) openRuntimeWith(pf proxyFlags, reserve int64, spawner bool) (*bottleRuntime, error) {
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("bot-bottle home: %w", err)
	}
	p, err := c.planner()
	if err != nil {
		return nil, err
	}
	pcfg, err := pf.config()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	em := events.NewMetrics(reg)
	pcfg.Registerer = reg
	store, err := c.openStore(home, sqlite.Options{Metrics: em})
	if err != nil {
		return nil, err
	}
	bus := events.NewBus(store, events.BusOptions{Metrics: em,
		SpoolDir: launcher.SpoolDir(home, launcher.Self()), SpoolReserve: reserve})
	var backends []launcher.Backend
	if runtime.GOOS == "linux" {
		// Each launch is a new process: the local backend's probe is
		// remembered in the home, not run every time.
		local := netns.New("").WithProbeCache(filepath.Join(home, netns.ProbeCacheFile))
		if spawner {
			local = local.WithSpawner()
		}
		backends = append(backends, local)
	}
	backends = append(backends, docker.New(docker.Options{Host: c.env["DOCKER_HOST"], Notify: func(msg string) {
		fmt.Fprintf(c.stderr, "bot-bottle: docker backend: %s\n", msg)
	}}))
	l, err := launcher.New(launcher.Config{
		Home: home, Planner: p, HostEnv: c.env, Backends: backends,
		Registry: store, Publisher: bus, Proxy: pcfg, Machine: c.env[launcher.MachineEnv],
		GitUpstreamCAFile: pf.upstreamCA, // the git gates trust the same extra CAs as the proxy
	})
	if err != nil {
		_ = bus.Close(context.Background())
		_ = store.Close()
		return nil, err
	}
	return &bottleRuntime{c: c, home: home, store: store, bus: bus, launcher: l, metrics: reg, backends: backends}, nil
}

// runAudit keeps the audit log ($BOT_BOTTLE_HOME/audit/audit.jsonl) until
// ctx ends or the returned stop is called. Every long-running process runs
// it; one at a time writes (see events.RunAudit), so each decision and
// reload is recorded exactly once. stop waits for the writer, so the store
// can be closed after it without the writer reporting a closed store as a
// failure.
func (r *bottleRuntime) runAudit(ctx context.Context, log *slog.Logger) (stop func()) {
	return runUntilStopped(ctx, func(ctx context.Context) {
		err := events.RunAudit(ctx, r.store, events.AuditOptions{Dir: filepath.Join(r.home, "audit"), Logger: log})
		if err != nil && ctx.Err() == nil {
			log.Error("audit log stopped", "err", err)
		}
	})
}

// runUntilStopped runs fn in a goroutine with a context of its own; stop
// cancels it and waits for fn to return.
func runUntilStopped(ctx context.Context, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// expire expires the pending proposals of the given bottles (every bottle
// when none is named) whose owner is gone, and returns how many expired:
// ps and cleanup find dead owners, and say so on the channel.
func (r *bottleRuntime) expire(ctx context.Context, bottles ...string) (int, error) {
	desk := review.NewDesk(review.DeskConfig{Channel: r.bus, Running: func(ctx context.Context, id string) (bool, error) {
		return launcher.Running(ctx, r.store, id)
	}})
	if len(bottles) == 0 {
		return desk.ExpireEnded(ctx)
	}
	total := 0
	for _, b := range bottles {
		n, err := desk.ExpireBottle(ctx, b)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// closeWait bounds how long a process that exits waits for its events to
// be stored. A failing store does not make it wait (the bus spools at
// once); a busy one (a queue of writers) may take this long.
const closeWait = time.Minute

// Close stores what is still queued, says what it could not store (spooled
// for the next bot-bottle, or lost) and closes the store. It returns an
// error only when events were lost.
func (r *bottleRuntime) Close() error {
	if r.launcher != nil {
		r.launcher.WaitSweep() // it records orphans through the bus
	}
	for _, be := range r.backends {
		if c, ok := be.(io.Closer); ok {
			_ = c.Close()
		}
	}
	err := r.c.closeBus(r.bus, closeWait)
	_ = r.store.Close()
	return err
}

// config turns the flags into the proxy template.
func (pf proxyFlags) config() (egressproxy.Config, error) {
	var cfg egressproxy.Config
	if pf.dlpHold < 0 {
		return cfg, &usageError{msg: "--dlp-hold-timeout must be positive"}
	}
	cfg.Limits.DLPHoldTimeout = pf.dlpHold
	for _, r := range pf.resolve {
		hostPort, addr, ok := strings.Cut(r, "=")
		if !ok || hostPort == "" || addr == "" || !strings.Contains(hostPort, ":") || !strings.Contains(addr, ":") {
			return cfg, &usageError{msg: fmt.Sprintf("--resolve %q: want HOST:PORT=ADDR:PORT", r)}
		}
		if cfg.Resolve == nil {
			cfg.Resolve = map[string]string{}
		}
		cfg.Resolve[hostPort] = addr
	}
	if pf.upstreamCA != "" {
		pem, err := os.ReadFile(pf.upstreamCA)
		if err != nil {
			return cfg, fmt.Errorf("--upstream-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("--upstream-ca %s: no PEM certificate in it", pf.upstreamCA)
		}
		cfg.UpstreamRoots = pool
	}
	return cfg, nil
}
