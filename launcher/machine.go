package launcher

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"
)

// MachineEnv names this machine in the registry when set (default: the
// host name). Machines that share an event channel must have different
// names: an owner on this machine is checked by its pid, an owner on
// another by its lease.
const MachineEnv = "BOT_BOTTLE_MACHINE"

var thisMachine = sync.OnceValue(func() string {
	if m := strings.TrimSpace(os.Getenv(MachineEnv)); m != "" {
		return m
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
})

// ThisMachine is the name of the machine this process runs on:
// $BOT_BOTTLE_MACHINE, or the host name.
func ThisMachine() string { return thisMachine() }

// Leases is what a registry shared by several machines offers (the NATS
// one: a key-value bucket whose entries expire): the owner of each running
// bottle holds a lease on it and refreshes it while it lives, so a bottle
// whose owner's machine crashed or was cut off shows as lost when its
// lease lapses. A process cannot see another machine's pids; it can see
// its leases.
//
// Errors: as Registry's.
type Leases interface {
	// Lease takes or refreshes the lease on bottle for owner.
	Lease(ctx context.Context, bottle, owner string) error
	// Release gives the lease on bottle up (the bottle ended).
	Release(ctx context.Context, bottle string) error
	// Leased returns the bottles whose lease is live.
	Leased(ctx context.Context) (map[string]bool, error)
	// Held reports whether the lease on bottle is live: one bottle's,
	// for a process that waits on its owner.
	Held(ctx context.Context, bottle string) (bool, error)
	// LeaseTTL is how long a lease lives unless refreshed.
	LeaseTTL() time.Duration
}

// remote reports whether o runs on another machine than this one.
func (o Owner) remote() bool { return o.Machine != "" && o.Machine != ThisMachine() }

// liveness returns how to tell whether the owner of a bottle lives: by
// its pid on this machine; by its lease on another, when reg keeps leases.
// A registry without leases (SQLite in the home) is one machine's: every
// owner is checked by its pid, whatever name its machine had (a host
// renamed while its bottles ran keeps them).
func liveness(ctx context.Context, reg Registry) (func(id string, o Owner) (alive, lost bool), error) {
	ls, ok := reg.(Leases)
	if !ok {
		return func(_ string, o Owner) (bool, bool) { return o.Alive(), false }, nil
	}
	held, err := ls.Leased(ctx)
	if err != nil {
		return nil, err
	}
	return func(id string, o Owner) (bool, bool) {
		if !o.remote() {
			return o.Alive(), false
		}
		return held[id], !held[id]
	}, nil
}

// ownerLives reports whether the owner of in still lives (see liveness).
func (l *Launcher) ownerLives(ctx context.Context, in Info) bool {
	if !l.elsewhere(in) {
		return in.Owner.Alive()
	}
	held, err := l.cfg.Registry.(Leases).Held(ctx, in.ID)
	return err == nil && held
}

// elsewhere reports whether in's owner runs on another machine, known by
// its lease: only a registry with leases spans machines.
func (l *Launcher) elsewhere(in Info) bool {
	_, ok := l.cfg.Registry.(Leases)
	return ok && in.Owner.remote()
}

// lease takes or refreshes the lease on a bottle this process owns; a
// failure is logged, not fatal: the lease is retried at the next refresh,
// and meanwhile other machines see the bottle as lost, never as ended.
func (l *Launcher) lease(ctx context.Context, b *Bottle) {
	ls, ok := l.cfg.Registry.(Leases)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ls.Lease(ctx, b.ID(), l.owner.String()+"@"+l.owner.Machine); err != nil {
		l.log.Warn("refresh the lease on a bottle", "bottle", b.ID(), "err", err)
	}
}

// release gives up the lease of an ended bottle.
func (l *Launcher) release(b *Bottle) {
	ls, ok := l.cfg.Registry.(Leases)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ls.Release(ctx, b.ID()); err != nil {
		l.log.Warn("release the lease on a bottle", "bottle", b.ID(), "err", err)
	}
}

// refreshLeases refreshes the lease of every bottle this process owns, a
// third of the lease's life apart, while it owns any (track starts it,
// and it ends when the last bottle is untracked). It runs only over a
// registry with leases.
func (l *Launcher) refreshLeases() {
	ls, ok := l.cfg.Registry.(Leases)
	if !ok || l.refreshing {
		return
	}
	l.refreshing = true // under l.mu, taken by track
	every := max(ls.LeaseTTL()/3, 100*time.Millisecond)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for range t.C {
			owned := l.Owned()
			if len(owned) == 0 {
				l.mu.Lock()
				done := len(l.bottles) == 0
				if done {
					l.refreshing = false
				}
				l.mu.Unlock()
				if done {
					return
				}
			}
			for _, b := range owned {
				l.lease(context.Background(), b)
			}
		}
	}()
}
