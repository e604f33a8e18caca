package sqlite

import "testing"

// TestAWakeBetweenPublishAndRingLosesNoCommit: a writer publishes its
// bottles' slots, then writes the time, then changes the word and wakes.
// A waiter woken in between (EINTR, a timeout) reads the new slots with
// the word and time unchanged, and moves past them: it must judge them
// then, or the ring that follows finds nothing new and the follower sleeps
// through the commit (a cross-process test waited out its minute so).
func TestAWakeBetweenPublishAndRingLosesNoCommit(t *testing.T) {
	ours := bottleHash("ours")
	relevant := func(h uint64) bool { return h == ours }
	last := bellState{word: 5, stamp: 100, seq: 3}

	// Woken after the publish, before the time and the word.
	early := bellState{word: 5, stamp: 100, seq: 4, fresh: []uint64{ours}}
	if !early.concerns(last, relevant) {
		t.Fatal("slots published before the ring were judged a spurious wake")
	}
	// Woken after the time, before the word.
	mid := bellState{word: 5, stamp: 101, seq: 4, fresh: []uint64{bottleHash("other")}}
	if mid.concerns(last, relevant) {
		t.Error("a commit to another bottle, seen before the word changed, woke the followers")
	}
	// The ring itself, once the slots were judged: nothing new.
	ring := bellState{word: 6, stamp: 101, seq: 4}
	if ring.concerns(early, relevant) {
		t.Error("the ring after slots already judged woke the followers again")
	}
	// The cases as before.
	for name, tc := range map[string]struct {
		now  bellState
		want bool
	}{
		"spurious":                {bellState{word: 5, stamp: 100, seq: 3}, false},
		"an older writer's ring":  {bellState{word: 5, stamp: 101, seq: 3}, true},
		"our bottle":              {bellState{word: 6, stamp: 101, seq: 4, fresh: []uint64{ours}}, true},
		"another bottle":          {bellState{word: 6, stamp: 101, seq: 4, fresh: []uint64{bottleHash("other")}}, false},
		"too many commits to see": {bellState{word: 6, stamp: 101, seq: 400, overflow: true}, true},
	} {
		if got := tc.now.concerns(last, relevant); got != tc.want {
			t.Errorf("%s: concerns = %v, want %v", name, got, tc.want)
		}
	}
}
