package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

func newEventsCmd(c *cli) *cobra.Command {
	var (
		bottle         string
		since          uint64
		follow, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the shared event channel: denials, proposals, decisions, reloads, lifecycle",
		Long: `events prints the events stored in $BOT_BOTTLE_HOME/state.db, oldest first,
from every process of this home: one line each (time, bottle, seq, kind,
summary), or with --json one JSON object per line for programs (jq).

--since N skips what you have seen: with --bottle, N is the bottle's
sequence number (the #N column); without, it is the global position (the
"pos" field of --json). --follow keeps printing new events as they are
stored, until interrupted. Events removed by retention are reported on
stderr, never skipped silently.

bot-bottle events serve is the control plane standalone sidecars deliver their
events to (bot-bottle egress --events unix:PATH): see its --help.`,
		Example: `  bot-bottle events
  bot-bottle events --follow --bottle b-3f2a1c
  bot-bottle events --json --since 120 | jq 'select(.kind == "egress.denial")'`,
		Args: noArgs("events"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from := events.AfterPos(since)
			if bottle != "" {
				from = events.AfterSeq(bottle, since)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return c.printEvents(ctx, from, follow, asJSON)
		},
	}
	cmd.Flags().StringVar(&bottle, "bottle", "", "only the events of the bottle with this id (as in bot-bottle ps)")
	cmd.Flags().Uint64Var(&since, "since", 0, "only events after this number: a seq with --bottle, else a global position")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	_ = cmd.RegisterFlagCompletionFunc("bottle", c.completeBottleIDs(true))
	cmd.AddCommand(newEventsServeCmd(c))
	return cmd
}

func (c *cli) printEvents(ctx context.Context, from events.Cursor, follow, asJSON bool) error {
	home, err := planner.DefaultHome(c.env)
	if err != nil {
		return err
	}
	path := filepath.Join(home, sqlite.FileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !follow {
		return nil // no store yet: no events, and nothing to create for a read
	}
	store, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return storeHint(err, path)
	}
	defer store.Close()
	out := bufio.NewWriter(c.stdout)
	show := func(p events.Page) error {
		for _, g := range p.Gaps {
			fmt.Fprintf(c.stderr, "warning: %s\n", g)
		}
		for _, ev := range p.Events {
			if err := writeEvent(out, ev, asJSON); err != nil {
				return err
			}
		}
		return out.Flush() // a follower sees each page as it arrives
	}
	if follow {
		err := store.Follow(ctx, from, show)
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of --follow
		}
		return err
	}
	for {
		p, err := store.Read(ctx, from, 0)
		if err != nil || p.Empty() {
			return err
		}
		if err := show(p); err != nil {
			return err
		}
		from = p.Next
	}
}

// storeHint says what to do about a store that will not open.
func storeHint(err error, path string) error {
	switch {
	case errors.Is(err, sqlite.ErrLocked):
		return withHint(err, "another process holds it; find it with: fuser "+path)
	case errors.Is(err, sqlite.ErrCorrupt):
		return withHint(err, "nothing was written to it; move it aside (mv "+path+" "+path+".broken) to start a new store")
	}
	return err
}

// writeEvent prints ev as a JSON line, or for a person as
// "time  bottle  #seq  kind  summary".
func writeEvent(w io.Writer, ev schemas.Event, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(ev)
	}
	_, err := fmt.Fprintf(w, "%s  %s  #%d  %s  %s\n",
		ev.Time.Local().Format(time.DateTime+".000"), ev.Bottle, ev.Seq, events.Printable(string(ev.Kind)), events.Summary(ev))
	return err
}
