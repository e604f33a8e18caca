package sqlite

import (
	"context"
	"sync"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/internal/bell"
)

// A follower of one bottle (its owner's stop watcher, its review owner)
// waits for its own bottle's events, not for every commit: with a thousand
// bottles in one process, waking every follower on every commit made each
// launch cost a query per running bottle. The tail is the one reader per
// Store that, on each commit (the local bell), reads which bottles the new
// events belong to and rings only those bottles' bells. It also keeps the
// safety-net poll for them all, so the followers of a process cost one
// timer, not one each.
type tail struct {
	s *Store

	mu      sync.Mutex
	bells   map[string]*bottleBell
	hashes  map[uint64]int // bottleHash of the bottles in bells, and how many
	running bool
	stopped chan struct{} // closed when run returns
	after   uint64        // every event up to this pos has rung its bottle
}

// bottleBell is one bottle's bell and how many followers wait on it.
type bottleBell struct {
	bell.Bell
	n int
}

// tailPage bounds one read of the tail.
const tailPage = 1000

// watch registers a follower of bottle and returns its bell and the
// function that unregisters it. The first registration starts the tail
// from the store's head: a follower reads after registering, so whatever
// is committed after its read is after the tail's start and rings it.
func (t *tail) watch(bottle string) (*bottleBell, func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.closed() {
		return nil, nil, events.ErrClosed
	}
	if !t.running {
		head, err := t.s.Head(context.Background(), "")
		if err != nil {
			return nil, nil, err
		}
		t.after, t.running = head.After, true
		t.bells = map[string]*bottleBell{}
		t.hashes = map[uint64]int{}
		t.stopped = make(chan struct{})
		go t.run()
	}
	b := t.bells[bottle]
	if b == nil {
		b = &bottleBell{}
		t.bells[bottle] = b
		t.hashes[bottleHash(bottle)]++
	}
	b.n++
	return b, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if b.n--; b.n == 0 && t.bells[bottle] == b {
			delete(t.bells, bottle)
			h := bottleHash(bottle)
			if t.hashes[h]--; t.hashes[h] == 0 {
				delete(t.hashes, h)
			}
		}
	}, nil
}

// follows reports whether a follower here waits for the bottle of hash.
func (t *tail) follows(hash uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hashes[hash] > 0
}

// run reads what each commit added and rings its bottles, until the store
// closes.
func (t *tail) run() {
	defer close(t.stopped)
	poll := time.NewTimer(t.s.poll)
	defer poll.Stop()
	for {
		rung := t.s.local.Wait()
		t.catchUp()
		poll.Reset(t.s.poll)
		select {
		case <-rung:
		case <-poll.C:
		case <-t.s.closing:
			t.ringAll() // followers see the store closed
			return
		}
	}
}

// catchUp rings the bells of the bottles of every event after t.after. A
// read that fails rings every bell: each follower then reads for itself
// and meets the error.
func (t *tail) catchUp() {
	for {
		t.mu.Lock()
		after := t.after
		t.mu.Unlock()
		t.s.tailReads.Add(1)
		rows, err := t.s.r.Query("SELECT pos, bottle FROM events WHERE pos > ? ORDER BY pos LIMIT ?", int64(after), tailPage)
		if err != nil {
			t.ringAll()
			return
		}
		seen := map[string]bool{}
		n := 0
		for rows.Next() {
			var pos uint64
			var bottle string
			if err := rows.Scan(&pos, &bottle); err != nil {
				break
			}
			seen[bottle] = true
			after = max(after, pos)
			n++
		}
		err = rows.Err()
		rows.Close()
		t.mu.Lock()
		t.after = after
		for bottle := range seen {
			if b := t.bells[bottle]; b != nil {
				b.Ring()
			}
		}
		t.mu.Unlock()
		if err != nil {
			t.ringAll()
			return
		}
		if n < tailPage {
			return
		}
	}
}

// wait waits for run to return once the store is closing.
func (t *tail) wait() {
	t.mu.Lock()
	running, stopped := t.running, t.stopped
	t.mu.Unlock()
	if running {
		<-stopped
	}
}

func (t *tail) ringAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range t.bells {
		b.Ring()
	}
}
