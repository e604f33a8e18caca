package events

import "github.com/bot-bottle/bot-bottle/schemas"

// queueChunk is how many events one block of a queue holds.
const queueChunk = 1024

// queue is a FIFO of events in fixed-size blocks. Publish appends under a
// mutex on the producer's path; with one growing slice, the append that
// outgrows it copies the whole backlog while holding that mutex, which is
// milliseconds for a backlog of a few hundred thousand events. Blocks make
// every append cost the same. Not safe for concurrent use: its owner locks.
type queue struct {
	blocks [][]schemas.Event
	n      int
}

func (q *queue) push(ev schemas.Event) {
	last := len(q.blocks) - 1
	if last < 0 || len(q.blocks[last]) == queueChunk {
		q.blocks = append(q.blocks, make([]schemas.Event, 0, queueChunk))
		last++
	}
	q.blocks[last] = append(q.blocks[last], ev)
	q.n++
}

// take empties the queue and returns its blocks, oldest first.
func (q *queue) take() [][]schemas.Event {
	b := q.blocks
	q.blocks, q.n = nil, 0
	return b
}

func (q *queue) len() int { return q.n }
