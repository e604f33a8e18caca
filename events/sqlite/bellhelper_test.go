package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// helperFollow follows the whole store with every safety net (the
// follower's poll, the bell waiter's timeout) set to an hour, so only the
// doorbell's futex can wake it, and says "got <bottle>" for each event.
func helperFollow(path string) error {
	defer sqlite.SetBellSafetyNet(time.Hour)()
	s, err := sqlite.Open(path, sqlite.Options{PollInterval: time.Hour})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println("ready")
	return s.Follow(context.Background(), events.Cursor{}, func(p events.Page) error {
		for _, ev := range p.Events {
			fmt.Println("got", ev.Bottle)
		}
		return nil
	})
}

// helperAppend appends one event for each line of its stdin, the line
// naming the bottle, and says "ok" after each commit.
func helperAppend(path string) error {
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		ev, err := schemas.NewEvent(in.Text(), schemas.KindDenial, 1)
		if err != nil {
			return err
		}
		if _, err := s.Append(context.Background(), []schemas.Event{ev}); err != nil {
			return err
		}
		fmt.Println("ok")
	}
	return in.Err()
}

// helperIdle opens $N stores on path, each waiting on the bell as an owner
// process's store does (BELL=poll: each polls it, as a store that could
// get no inotify instance did; $SAFETY, if set, bounds the futex waits), and on "go" says "cpu <ns>": the CPU time
// (user and system) the process spent over $IDLE with nothing committed.
func helperIdle(path string) error {
	n, _ := strconv.Atoi(os.Getenv("N"))
	idle, err := time.ParseDuration(os.Getenv("IDLE"))
	if err != nil {
		return err
	}
	if d, err := time.ParseDuration(os.Getenv("SAFETY")); err == nil {
		defer sqlite.SetBellSafetyNet(d)()
	}
	if os.Getenv("BELL") == "poll" {
		defer sqlite.RefuseBellMapping()()
	}
	for range n {
		s, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
	}
	if err := readyThenGo(); err != nil {
		return err
	}
	before, err := cpuTime()
	if err != nil {
		return err
	}
	time.Sleep(idle)
	after, err := cpuTime()
	if err != nil {
		return err
	}
	fmt.Println("cpu", int64(after-before))
	return nil
}

// cpuTime is the CPU time this process has spent, user and system.
func cpuTime() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// expectWithin is expect, failing if no line comes within d (a broken
// wake-up must fail the test, not hang it).
func (h *helper) expectWithin(t testing.TB, want string, d time.Duration) string {
	t.Helper()
	type line struct {
		s   string
		err error
	}
	c := make(chan line, 1)
	go func() {
		s, err := h.stdout.ReadString('\n')
		c <- line{s, err}
	}()
	select {
	case l := <-c:
		if l.err != nil {
			t.Fatalf("helper: waiting for %q: %v", want, l.err)
		}
		if !strings.HasPrefix(l.s, want) {
			t.Fatalf("helper said %q, want %q", l.s, want)
		}
		return strings.TrimSpace(strings.TrimPrefix(l.s, want))
	case <-time.After(d):
		t.Fatalf("helper did not say %q within %v", want, d)
		return ""
	}
}
