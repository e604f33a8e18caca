package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

func newEventsCmd(c *cli) *cobra.Command {
	var (
		bottle, host   string
		kinds          []string
		since          uint64
		last           int
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

--kind and --host select: the newest --last matches (default 100), oldest
first, read from the store's indexes, so they answer at once however many
events it holds. --host selects denials and proposals about that host.
With --follow, new matches follow.

bot-bottle events serve is the control plane standalone sidecars deliver their
events to (bot-bottle egress --events unix:PATH): see its --help.`,
		Example: `  bot-bottle events
  bot-bottle events --follow --bottle b-3f2a1c
  bot-bottle events --kind denial --host pypi.org --last 20
  bot-bottle events --json --since 120 | jq 'select(.kind == "egress.denial")'`,
		Args: noArgs("events"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if len(kinds) > 0 || host != "" {
				if cmd.Flags().Changed("since") {
					return &usageError{msg: "events: --since is a position in the whole stream; with --kind or --host, use --last N"}
				}
				f, err := eventFilter(kinds, bottle, host, last)
				if err != nil {
					return err
				}
				return c.printSelected(ctx, f, follow, asJSON)
			}
			if cmd.Flags().Changed("last") {
				return &usageError{msg: "events: --last goes with --kind or --host"}
			}
			from := events.AfterPos(since)
			if bottle != "" {
				from = events.AfterSeq(bottle, since)
			}
			return c.printEvents(ctx, from, follow, asJSON)
		},
	}
	cmd.Flags().StringVar(&bottle, "bottle", "", "only the events of the bottle with this id (as in bot-bottle ps)")
	cmd.Flags().StringArrayVar(&kinds, "kind", nil, "only events of this kind (egress.denial or denial, review.proposal or proposal, ...; repeatable)")
	cmd.Flags().StringVar(&host, "host", "", "only denials and proposals about this host")
	cmd.Flags().IntVar(&last, "last", 100, "with --kind or --host: this many of the newest matches")
	cmd.Flags().Uint64Var(&since, "since", 0, "only events after this number: a seq with --bottle, else a global position")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	_ = cmd.RegisterFlagCompletionFunc("bottle", c.completeBottleIDs(true))
	c.addChannelFlags(cmd.PersistentFlags(), true)
	cmd.AddCommand(newEventsServeCmd(c))
	return cmd
}

func (c *cli) printEvents(ctx context.Context, from events.Cursor, follow, asJSON bool) error {
	store, done, err := c.openStoreToRead(follow)
	if err != nil || store == nil {
		return err
	}
	defer done()
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

// eventKinds are the kinds --kind takes, by full name or by the part after
// the dot.
var eventKinds = []schemas.Kind{schemas.KindDenial, schemas.KindReload, schemas.KindLifecycle, schemas.KindStopRequested,
	schemas.KindProposal, schemas.KindDecision, schemas.KindApplied, schemas.KindRouteExpired}

// eventFilter builds the filter of --kind, --bottle, --host and --last.
func eventFilter(kinds []string, bottle, host string, last int) (events.Filter, error) {
	f := events.Filter{Bottle: bottle, Host: host, Limit: last}
	if last <= 0 {
		return f, &usageError{msg: fmt.Sprintf("events: --last %d: want a number above 0", last)}
	}
	for _, k := range kinds {
		found := ""
		for _, known := range eventKinds {
			if string(known) == k || strings.HasSuffix(string(known), "."+k) {
				found = string(known)
			}
		}
		if found == "" {
			names := make([]string, len(eventKinds))
			for i, known := range eventKinds {
				names[i] = string(known)
			}
			return f, &usageError{msg: fmt.Sprintf("events: --kind %q: no such kind (have %s)", k, strings.Join(names, ", "))}
		}
		f.Kinds = append(f.Kinds, schemas.Kind(found))
	}
	if len(f.Kinds) == 0 {
		f.Kinds = events.HostKinds
	}
	return f, nil
}

// printSelected prints the newest f.Limit events f selects, oldest first,
// and with follow the new ones as they come.
func (c *cli) printSelected(ctx context.Context, f events.Filter, follow, asJSON bool) error {
	store, done, err := c.openStoreToRead(follow)
	if err != nil || store == nil {
		return err
	}
	defer done()
	head, err := store.Head(ctx, "") // before the query: what follows it is new
	if err != nil {
		return err
	}
	var picked []schemas.Event
	more := false
	for want := f.Limit; len(picked) < want; {
		f.Limit = min(want-len(picked), events.MaxQueryLimit)
		m, err := store.Query(ctx, f)
		if err != nil {
			return err
		}
		picked = append(picked, m.Events...)
		if more = !m.Next.IsZero(); !more {
			break
		}
		f.Before = m.Next
	}
	if more {
		fmt.Fprintf(c.stderr, "bot-bottle: older events match too; these are the newest %d (--last N shows more)\n", len(picked))
	}
	out := bufio.NewWriter(c.stdout)
	for i := len(picked) - 1; i >= 0; i-- {
		if err := writeEvent(out, picked[i], asJSON); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil || !follow {
		return err
	}
	f.Before = events.Mark{}
	err = store.Follow(ctx, head, func(p events.Page) error {
		for _, g := range p.Gaps {
			fmt.Fprintf(c.stderr, "warning: %s\n", g)
		}
		for _, ev := range p.Events {
			if f.Match(ev) {
				if err := writeEvent(out, ev, asJSON); err != nil {
					return err
				}
			}
		}
		return out.Flush()
	})
	if ctx.Err() != nil {
		return nil
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
