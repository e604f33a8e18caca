package events

import (
	"sync"
	"time"
)

// throttle lets a repeated warning through at most once per interval, so a
// producer stuck in a loop of drops does not also flood the log. The
// counters in Metrics carry the exact numbers.
type throttle struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now and how many warnings were held back
// since the last one let through.
func (t *throttle) allow() (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if !t.last.IsZero() && now.Sub(t.last) < t.every {
		t.suppressed++
		return false, 0
	}
	n := t.suppressed
	t.last, t.suppressed = now, 0
	return true, n
}
