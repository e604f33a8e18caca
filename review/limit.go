package review

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"
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

// limiter is Limits on golang.org/x/time/rate's token bucket.
type limiter struct {
	limits Limits
	now    func() time.Time
	bucket *rate.Limiter
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	l = l.withDefaults()
	return &limiter{limits: l, now: now, bucket: rate.NewLimiter(rate.Every(l.Every), l.Burst)}
}

// allow takes a token for a new proposal, given how many are pending, or
// says how long the agent must wait for one.
func (l *limiter) allow(pending int) error {
	now := l.now()
	if pending >= l.limits.MaxPending {
		return &RateLimitError{Pending: pending, RetryAfter: l.limits.Every,
			Reason: fmt.Sprintf("%d proposals already wait for a decision", pending)}
	}
	r := l.bucket.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now) // a refused request takes nothing
		return &RateLimitError{Pending: pending, RetryAfter: wait,
			Reason: fmt.Sprintf("at most %d new proposals at once and one every %s", l.limits.Burst, l.limits.Every)}
	}
	return nil
}

// refund returns a token after an approval. A reservation of -1 tokens
// adds one (rate.Limiter subtracts what is reserved); the bucket's burst
// caps it again at its next use, so a refund never lets more than Burst
// through at once. TestApprovalsGiveTheirTokenBack pins this.
func (l *limiter) refund() {
	l.bucket.ReserveN(l.now(), -1)
}
