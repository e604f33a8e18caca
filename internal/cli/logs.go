package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/termguard"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/spf13/cobra"
)

func newLogsCmd(c *cli) *cobra.Command {
	var (
		o      launcher.LogOptions
		tail   string
		since  string
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a bottle's output, while it runs or after it ended",
		Long: `logs prints the output of a bottle's command, as its owner teed it into the
bottle's run folder (bounded: the latest output only). When the bottle ends
the output is kept in $BOT_BOTTLE_HOME/logs (the newest 100 bottles), so a
headless task's answer or a crashed agent's last words can still be read.

With --follow, logs goes on printing what the bottle prints until it ends
(or until ^C).`,
		Example: `  bot-bottle logs b-3f2a1c
  bot-bottle logs -f --tail 20 b-3f2a1c
  bot-bottle logs --since 10m --timestamps b-3f2a1c
  bot-bottle logs --since 2026-12-05T17:00:00Z b-3f2a1c`,
		Args:              exactArgs("logs", "bottle ID"),
		ValidArgsFunction: c.completeBottleIDs(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Tail, err = parseTail(tail); err != nil {
				return err
			}
			if o.Since, err = parseSince(since, time.Now()); err != nil {
				return err
			}
			rt, err := c.openRuntime(proxyFlags{})
			if err != nil {
				return err
			}
			defer rt.Close()
			if follow {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				g := termguard.New(c.stdout) // the bottle's bytes, guarded as launch guards them
				defer g.Close()
				return logsError(rt.launcher.Follow(ctx, args[0], o, g))
			}
			out, err := rt.launcher.Logs(contextOf(cmd), args[0], o)
			if err != nil {
				return logsError(err)
			}
			g := termguard.New(c.stdout)
			if _, err = g.Write(out); err != nil {
				return err
			}
			return g.Close()
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "keep printing the bottle's output until it ends")
	f.StringVarP(&tail, "tail", "n", "all", "print only the last N lines (or all)")
	f.StringVar(&since, "since", "", "print only lines since a time (RFC 3339, e.g. 2026-12-05T17:00:00Z) or a duration ago (e.g. 10m, 2h)")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "prefix each line with when it was printed (RFC 3339, UTC)")
	c.addChannelFlags(cmd.Flags(), true)
	return cmd
}

func logsError(err error) error {
	if errors.Is(err, launcher.ErrUnknownBottle) {
		return withHint(err, "bot-bottle ps -a")
	}
	return err
}

// parseTail reads --tail: a count of lines, or "all".
func parseTail(s string) (int, error) {
	if s == "" || s == "all" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &usageError{msg: fmt.Sprintf("logs: --tail %q: want a number of lines (0 or more) or all", s)}
	}
	return n, nil
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, &usageError{msg: fmt.Sprintf("logs: --since %q: a duration ago cannot be negative", s)}
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &usageError{msg: fmt.Sprintf("logs: --since %q: want a time such as %s or a duration such as 10m",
		s, strings.TrimSuffix(now.UTC().Truncate(time.Second).Format(time.RFC3339), ""))}
}

// contextOf returns the command's context, or a background one when cobra
// runs without.
func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
