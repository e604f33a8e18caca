package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// A control plane's own spool (BusOptions.SpoolDir) is a sidecar's spool
// (the same files, see spool) that the Bus writes only when it stops: the
// events it could not store before its process exits. The next process
// that opens the store delivers it (DeliverSpools) and removes it. Each
// process has its own folder under one root; the process holds the
// folder's lock for as long as it may write there, so a deliverer never
// takes a spool that is still being written.

// UnstoredError is what Bus.Close returns when events could not be stored
// before it gave up: how many were spooled (to be delivered by the next
// process that opens the store) and how many were lost, and why.
type UnstoredError struct {
	Spooled  int
	Dir      string // the spool
	Lost     int
	SpoolErr error // why the lost ones could not be spooled
	Cause    error // the store's last error
}

func (e *UnstoredError) Error() string {
	var b strings.Builder
	if e.Spooled > 0 {
		fmt.Fprintf(&b, "%d events could not be stored; spooled in %s and will be delivered by the next bot-bottle that opens the store", e.Spooled, e.Dir)
	}
	if e.Lost > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d events were lost", e.Lost)
		if e.SpoolErr != nil {
			fmt.Fprintf(&b, ": they could not be spooled either (%v)", e.SpoolErr)
		}
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	return b.String()
}

func (e *UnstoredError) Unwrap() error { return e.Cause }

// ownSpool is the spool of the process's bus: created under a dot-name and
// renamed into place with its lock held, so that no deliverer sees it
// unlocked.
func ownSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err == nil {
		sp, _, err := openSpool(dir) // a folder of this process's own (a second bus)
		return sp, err
	}
	staging := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".new")
	sp, _, err := openSpool(staging)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(staging, dir); err != nil {
		sp.close()
		os.RemoveAll(staging)
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	sp.dir = dir
	// The same file under its new name, so that errors name it there.
	f, err := os.OpenFile(filepath.Join(dir, spoolFile), os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		sp.close()
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	sp.f.Close()
	sp.f = f
	return sp, nil
}

// reserve sets n bytes of disk aside for the spool's file without making
// it longer, so that writing the spool later does not need free space: a
// process whose store fills the disk can still spool. Best effort: where
// the filesystem cannot, the spool needs free space when it is written.
func (s *spool) reserve(n int64) error {
	return fallocateKeepSize(s.f, n)
}

// spoolUnstored writes evs to the bus's spool in order, each bottle's last
// lifecycle event marked with how many of its events were spooled. If
// they do not all fit (a full disk past the reserve), the denials are left
// out so that the rest (lifecycle, proposals, decisions: the registry and
// the review desk) fit; what cannot be written is lost and counted.
func (b *Bus) spoolUnstored(evs []schemas.Event) (spooled, lost int, dir string, err error) {
	if b.spoolDir == "" {
		return 0, len(evs), "", errors.New("no spool folder")
	}
	if b.spool == nil {
		if b.spool, err = ownSpool(b.spoolDir); err != nil {
			return 0, len(evs), "", err
		}
	}
	sp := b.spool
	keep := evs
	for attempt := 0; attempt < 2; attempt++ {
		ok, werr := sp.append(markSpooled(keep), 1<<62)
		if werr == nil && ok {
			return len(keep), len(evs) - len(keep), sp.dir, nil
		}
		err = werr
		var rest []schemas.Event
		for _, ev := range keep {
			if ev.Kind != schemas.KindDenial {
				rest = append(rest, ev)
			}
		}
		if len(rest) == len(keep) || len(rest) == 0 {
			break
		}
		keep = rest
	}
	return 0, len(evs), sp.dir, err
}

// markSpooled returns evs with the last lifecycle event of each bottle
// carrying the number of that bottle's events in evs.
func markSpooled(evs []schemas.Event) []schemas.Event {
	count := map[string]int{}
	last := map[string]int{}
	for i, ev := range evs {
		count[ev.Bottle]++
		if ev.Kind == schemas.KindLifecycle {
			last[ev.Bottle] = i
		}
	}
	out := append([]schemas.Event(nil), evs...)
	for bottle, i := range last {
		var lc schemas.Lifecycle
		if out[i].Decode(&lc) != nil {
			continue
		}
		lc.Spooled = count[bottle]
		if p, err := json.Marshal(lc); err == nil {
			out[i].Payload = p
		}
	}
	return out
}

// DeliverSpools stores the events of every spool under root that no live
// process holds (a control plane that exited before it could store them)
// and removes each spool it has delivered. Delivery is idempotent (the
// store keeps one copy of an id), so a crash midway only sends some again.
// It returns how many events it delivered; a spool it could not deliver
// stays for the next attempt, and the error says why.
func DeliverSpools(ctx context.Context, store Store, root string) (int, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("deliver spools: %w", err)
	}
	total := 0
	var errs []error
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			// A process died between creating its spool and moving it
			// into place: nothing was written there.
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
				os.RemoveAll(path)
			}
			continue
		}
		n, err := deliverSpool(ctx, store, path)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

func deliverSpool(ctx context.Context, store Store, dir string) (int, error) {
	sp, _, err := openSpoolIn(dir, 0)
	if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, fs.ErrNotExist) {
		return 0, nil // its process is alive, or another deliverer has it or has delivered it
	}
	if err != nil {
		return 0, fmt.Errorf("deliver spool: %w", err)
	}
	defer sp.close()
	n := 0
	for {
		evs, end, _, err := sp.unacked(500)
		if err != nil {
			return n, fmt.Errorf("deliver spool %s: %w", dir, err)
		}
		if end == sp.acked && len(evs) == 0 {
			break
		}
		if len(evs) > 0 {
			if _, err := store.Append(ctx, evs); err != nil {
				return n, fmt.Errorf("deliver spool %s: %w", dir, err)
			}
		}
		if err := sp.ack(end); err != nil {
			return n, fmt.Errorf("deliver spool %s: %w", dir, err)
		}
		n += len(evs)
	}
	if err := os.RemoveAll(dir); err != nil {
		return n, fmt.Errorf("deliver spool %s: %w", dir, err)
	}
	return n, nil
}

// SpoolPending reports whether the spool in dir holds events not yet
// delivered.
func SpoolPending(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, spoolFile))
	if err != nil || fi.Size() == 0 {
		return false
	}
	raw, err := os.ReadFile(filepath.Join(dir, ackFile))
	if err != nil {
		return true
	}
	var acked int64
	_, _ = fmt.Sscan(strings.TrimSpace(string(raw)), &acked)
	return acked < fi.Size()
}
