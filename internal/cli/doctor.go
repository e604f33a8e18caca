package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/natsjs"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/spf13/cobra"
)

func newDoctorCmd(c *cli) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the event channel (the home's store, or a NATS server), free disk, undelivered events",
		Long: `doctor checks what bot-bottle needs to record bottles and their events:

  disk    free space on the disk of $BOT_BOTTLE_HOME (the store's write-ahead
          log needs room, or the store stops taking events for good)
  store   state.db opens, and every page of it reads back sound (SQLite's
          quick_check; --full runs integrity_check, which also compares every
          index with its table: slower). A launch checks only the registry's
          pages and that it can record its bottle, so damage elsewhere is
          found here.
  spools  events that exited bot-bottles could not store; doctor delivers
          them, as every bot-bottle that opens the store does

With --events nats://… (or BOT_BOTTLE_EVENTS), it checks the NATS channel
instead of the home's store, creating nothing there (but to deliver spools):

  server  it answers, takes the credentials, and has JetStream
  stream  BOTBOTTLE_EVENTS is as the README's "Many machines" describes:
          its subjects, limits per subject only (a stream-wide limit can
          restart a bottle's seqs), discard old, direct get, the followers'
          doorbell (republish), the duplicate window
  bucket  BOTBOTTLE_OWNERS' entries expire (else a crashed machine's
          bottles never show as lost)
  spools  as above, delivered to the channel

It prints one line per check and exits 1 when one fails, with what to do.`,
		Example: `  bot-bottle doctor
  bot-bottle doctor --full
  bot-bottle doctor --events nats://nats.internal:4222`,
		Args: noArgs("doctor"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.doctor(cmd.Context(), full)
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "run integrity_check rather than quick_check")
	c.addChannelFlags(cmd.Flags(), true)
	return cmd
}

func (c *cli) doctor(ctx context.Context, full bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return err
	}
	path := filepath.Join(home, sqlite.FileName)
	failed := 0
	report := func(status, what, detail, hint string) {
		fmt.Fprintf(c.stdout, "%-4s  %-6s  %s\n", status, what, detail)
		if hint != "" {
			fmt.Fprintf(c.stdout, "              Try: %s\n", hint)
		}
		if status == "FAIL" {
			failed++
		}
	}
	if c.channelURL() != "" {
		if err := c.doctorChannel(ctx, home, report); err != nil {
			return err
		}
		return c.doctorDone(failed)
	}

	c.doctorInit(report)

	if free, err := sqlite.FreeSpace(path); err != nil {
		report("FAIL", "disk", err.Error(), "")
	} else if free < sqlite.MinFreeSpace {
		report("warn", "disk", fmt.Sprintf("%s free on the disk of %s, below the %s the store's write-ahead log needs", sqlite.MiB(free), home, sqlite.MiB(sqlite.MinFreeSpace)),
			"free space, or set BOT_BOTTLE_HOME to a folder on a larger disk")
	} else {
		report("ok", "disk", fmt.Sprintf("%s free on the disk of %s", sqlite.MiB(free), home), "")
	}

	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		report("ok", "store", path+" does not exist yet (the first launch creates it)", "")
		return c.doctorDone(failed)
	}
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		report("FAIL", "store", err.Error(), hintOf(storeHint(err, path)))
		return c.doctorDone(failed)
	}
	defer store.Close()
	start := time.Now()
	problems, err := store.Check(ctx, full)
	took := time.Since(start).Round(time.Millisecond)
	check := "quick_check"
	if full {
		check = "integrity_check"
	}
	switch {
	case err != nil:
		report("FAIL", "store", err.Error(), hintOf(storeHint(err, path)))
	case len(problems) > 0:
		shown := problems[:min(len(problems), 5)]
		report("FAIL", "store", fmt.Sprintf("%s: %s finds damaged pages (%s): %s", path, check, took, strings.Join(shown, "; ")),
			"events on those pages cannot be read; "+sqlite.MoveAside(path))
	default:
		size := int64(0)
		for _, f := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(f); err == nil {
				size += fi.Size()
			}
		}
		report("ok", "store", fmt.Sprintf("%s: %s, every page sound (%s, %s)", path, sqlite.MiB(uint64(size)), check, took), "")
	}

	c.doctorSpools(ctx, store, home, report, func(err error) string { return hintOf(storeHint(err, path)) })
	return c.doctorDone(failed)
}

// doctorInit reports which binary local bottles start their init from:
// bot-bottle-init starts in a fraction of the CPU and memory, and an init
// binary of another build beside bot-bottle (a partial upgrade) is not
// used.
func (c *cli) doctorInit(report func(status, what, detail, hint string)) {
	if runtime.GOOS != "linux" {
		return
	}
	choice, err := netns.New("").Init()
	switch {
	case err != nil:
		report("FAIL", "init", err.Error(), "")
	case choice.Why == "":
		report("ok", "init", "local bottles start their init from "+choice.Path+" (the same build)", "")
	case choice.Mismatch:
		report("warn", "init", "local bottles start their init from "+choice.Path+", the whole binary: "+choice.Why,
			"build both with scripts/build.sh, which makes them one pair")
	default:
		report("ok", "init", "local bottles start their init from "+choice.Path+", the whole binary ("+choice.Why+"; scripts/build.sh builds bot-bottle-init beside it)", "")
	}
}

// doctorSpools delivers the spools of exited bot-bottles to store, as
// every bot-bottle that opens it does, and reports what it found.
func (c *cli) doctorSpools(ctx context.Context, store events.Store, home string, report func(status, what, detail, hint string), hint func(error) string) {
	root := launcher.SpoolRoot(home)
	n, err := events.DeliverSpools(ctx, store, root)
	switch {
	case err != nil:
		report("FAIL", "spools", fmt.Sprintf("events an exited bot-bottle spooled cannot be stored: %v", err), hint(err))
	case n > 0:
		report("ok", "spools", fmt.Sprintf("stored %d events that exited bot-bottles had spooled in %s", n, root), "")
	default:
		if held := pendingSpools(root); held > 0 {
			report("ok", "spools", fmt.Sprintf("%d spools with events are held by running bot-bottles (%s)", held, root), "")
		} else {
			report("ok", "spools", "no undelivered events", "")
		}
	}
}

// pendingSpools counts the spools under root that still hold events.
func pendingSpools(root string) int {
	n := 0
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if events.SpoolPending(filepath.Join(root, e.Name())) {
			n++
		}
	}
	return n
}

func (c *cli) doctorDone(failed int) error {
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// hintOf is the Try line of an error that has one.
func hintOf(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// doctorChannel checks the NATS channel the flags name (natsjs.Inspect),
// then delivers the home's spools to it, opening a store only when there
// are some.
func (c *cli) doctorChannel(ctx context.Context, home string, report func(status, what, detail, hint string)) error {
	o, err := c.natsOptions()
	if err != nil {
		return err
	}
	found, err := natsjs.Inspect(ctx, o)
	if err != nil {
		report("FAIL", "server", err.Error(), hintOf(channelHint(err)))
		return nil
	}
	usable := true
	for _, f := range found {
		status := "ok"
		switch {
		case f.Failed:
			status, usable = "FAIL", false
		case f.Warn:
			status = "warn"
		}
		report(status, f.What, f.Detail, f.Hint)
	}
	root := launcher.SpoolRoot(home)
	pending := pendingSpools(root)
	switch {
	case pending == 0:
		report("ok", "spools", "no undelivered events", "")
		return nil // and nothing opened: a store would make the stream
	case !usable:
		report("FAIL", "spools", fmt.Sprintf("%d spools in %s not delivered: the channel fails a check above", pending, root), "")
		return nil
	}
	store, err := c.openChannel()
	if err != nil {
		report("FAIL", "spools", "not delivered: "+err.Error(), hintOf(err))
		return nil
	}
	defer store.Close()
	c.doctorSpools(ctx, store, home, report, func(error) string { return "" })
	return nil
}
