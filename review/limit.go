package review

import (
	"fmt"
	"sync"
	"time"
)

// Limits bound how fast one bottle may make proposals, so a looping or
// hostile agent cannot flood its operator. A token bucket admits Burst new
// proposals at once and one more every Every; at most MaxPending may wait
// for a decision. Requests identical to a pending proposal are merged and
// never count, and an approved proposal gives its token back: what the
// operator approves is not a flood, so an agent working through a task
// with its operator is never slowed by the bound.
type Limits struct {
	MaxPending int           // default 10
	Burst      int           // default 5
	Every      time.Duration // default 20s
}

func (l Limits) withDefaults() Limits {
	if l.MaxPending <= 0 {
		l.MaxPending = 10
	}
	if l.Burst <= 0 {
		l.Burst = 5
	}
	if l.Every <= 0 {
		l.Every = 20 * time.Second
	}
	return l
}

// RateLimitError tells the agent it must wait, and how long.
type RateLimitError struct {
	Pending    int
	RetryAfter time.Duration
	Reason     string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited: %s; try again in %s, or wait on a pending proposal with proposal_status (%d pending)",
		e.Reason, e.RetryAfter.Round(time.Second), e.Pending)
}

type limiter struct {
	limits Limits
	now    func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	l = l.withDefaults()
	return &limiter{limits: l, now: now, tokens: float64(l.Burst), last: now()}
}

// allow takes a token for a new proposal, given how many are pending.
func (l *limiter) allow(pending int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(float64(l.limits.Burst), l.tokens+float64(max(now.Sub(l.last), 0))/float64(l.limits.Every))
	l.last = now
	if pending >= l.limits.MaxPending {
		return &RateLimitError{Pending: pending, RetryAfter: l.limits.Every,
			Reason: fmt.Sprintf("%d proposals already wait for a decision", pending)}
	}
	if l.tokens < 1 {
		wait := time.Duration((1 - l.tokens) * float64(l.limits.Every))
		return &RateLimitError{Pending: pending, RetryAfter: wait,
			Reason: fmt.Sprintf("at most %d new proposals at once and one every %s", l.limits.Burst, l.limits.Every)}
	}
	l.tokens--
	return nil
}

// refund returns a token after an approval.
func (l *limiter) refund() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = min(float64(l.limits.Burst), l.tokens+1)
}
