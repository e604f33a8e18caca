package review

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// An approval with scope once may carry a time limit (Decision.For): the
// route it adds lasts that long, then the bottle's owner removes it
// (temporary.go). The bounds keep a limit meaningful: under MinFor the
// route would be gone before the agent's retry could use it, and over
// MaxFor a person should approve for the bottle's life (or persist)
// knowingly rather than through a typo such as 30h for 30m.
const (
	MinFor = time.Second
	MaxFor = 24 * time.Hour
)

// ParseFor reads a time limit as a person writes it (a Go duration such as
// 30m, 1h30m or 90s) for the flag or field named field, which every error
// names. An empty or blank s is no limit (0, nil).
func ParseFor(field, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration: write it like 30m, 1h30m or 90s", field, oneLine(s, 40))
	}
	if err := checkFor(d); err != nil {
		return 0, fmt.Errorf("%s %q %w", field, s, err)
	}
	return d, nil
}

// checkFor bounds a parsed time limit.
func checkFor(d time.Duration) error {
	switch {
	case d <= 0:
		return errors.New("must be positive (leave it out to approve for the bottle's life)")
	case d < MinFor:
		return fmt.Errorf("is shorter than %s: the route would be gone before the agent could use it", MinFor)
	case d > MaxFor:
		return fmt.Errorf("is longer than %s: approve without a limit for the bottle's life, or persist, instead", shortDuration(MaxFor))
	}
	return nil
}

// FormatFor is the Decision.For of a time limit d: "" for none.
func FormatFor(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return shortDuration(d)
}

// shortDuration writes d without zero units: 30m, not 30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// checkDecisionFor validates a decision's time limit: a duration in
// bounds, on an approve or modify with scope once (a manifest edit has no
// lifetime).
func checkDecisionFor(d schemas.Decision) error {
	if d.For == "" {
		return nil
	}
	if _, err := ParseFor("for", d.For); err != nil {
		return err
	}
	switch {
	case d.Action == schemas.ActionDeny:
		return errors.New("for: a deny takes no time limit")
	case d.Scope == schemas.ScopePersist:
		return errors.New("for: a time limit needs scope once: a route written into the manifest has no lifetime; approve once with a limit, or persist without one")
	}
	return nil
}

// ForNote says how long an approval lasts, for a person: "for 30m, until
// 2026-01-02T03:04:05Z", or "" without a limit.
func ForNote(forText string, until time.Time) string {
	if forText == "" {
		return ""
	}
	if until.IsZero() {
		return "for " + forText
	}
	return fmt.Sprintf("for %s, until %s", forText, until.UTC().Format(time.RFC3339))
}
