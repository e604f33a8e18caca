package review

import (
	"errors"
	"testing"
	"time"
)

// TestLimiterTellsWhenToRetry: a burst of 5, then one every 20 s, and the
// refusal says how long until the next token.
func TestLimiterTellsWhenToRetry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Limits{}, func() time.Time { return now })
	for i := 0; i < 5; i++ {
		if err := l.allow(0); err != nil {
			t.Fatalf("burst %d: %v", i, err)
		}
	}
	var rl *RateLimitError
	if err := l.allow(0); !errors.As(err, &rl) || rl.RetryAfter != 20*time.Second {
		t.Fatalf("after the burst: %v", err)
	}
	now = now.Add(15 * time.Second)
	if err := l.allow(0); !errors.As(err, &rl) || rl.RetryAfter != 5*time.Second {
		t.Fatalf("15 s later: %v (a refusal must not take a token)", err)
	}
	now = now.Add(5 * time.Second)
	if err := l.allow(0); err != nil {
		t.Fatalf("20 s later: %v", err)
	}
	if err := l.allow(10); !errors.As(err, &rl) || rl.Pending != 10 {
		t.Fatalf("10 pending: %v", err)
	}
}

// TestLimiterRefundIsCapped: refunds on a full bucket do not raise it above
// its burst.
func TestLimiterRefundIsCapped(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Limits{Burst: 2, Every: time.Hour}, func() time.Time { return now })
	for i := 0; i < 5; i++ {
		l.refund()
	}
	allowed := 0
	for i := 0; i < 10; i++ {
		if l.allow(0) == nil {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d allowed after refunds on a full bucket, want the burst 2", allowed)
	}
}
