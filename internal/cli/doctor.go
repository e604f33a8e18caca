package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/spf13/cobra"
)

func newDoctorCmd(c *cli) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the bot-bottle home: the event store's pages, free disk, undelivered events",
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

It prints one line per check and exits 1 when one fails, with what to do.`,
		Example: `  bot-bottle doctor
  bot-bottle doctor --full`,
		Args: noArgs("doctor"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.doctor(cmd.Context(), full)
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "run integrity_check rather than quick_check")
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

	root := launcher.SpoolRoot(home)
	n, err := events.DeliverSpools(ctx, store, root)
	switch {
	case err != nil:
		report("FAIL", "spools", fmt.Sprintf("events an exited bot-bottle spooled cannot be stored: %v", err), hintOf(storeHint(err, path)))
	case n > 0:
		report("ok", "spools", fmt.Sprintf("stored %d events that exited bot-bottles had spooled in %s", n, root), "")
	default:
		held := 0
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if events.SpoolPending(filepath.Join(root, e.Name())) {
				held++
			}
		}
		if held > 0 {
			report("ok", "spools", fmt.Sprintf("%d spools with events are held by running bot-bottles (%s)", held, root), "")
		} else {
			report("ok", "spools", "no undelivered events", "")
		}
	}
	return c.doctorDone(failed)
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
