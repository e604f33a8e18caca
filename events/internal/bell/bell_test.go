package bell

import (
	"testing"
	"time"
)

func TestRingWakesEveryWaiterTakenBefore(t *testing.T) {
	var b Bell
	a, c := b.Wait(), b.Wait()
	select {
	case <-a:
		t.Fatal("woken before any ring")
	default:
	}
	b.Ring()
	for _, ch := range []<-chan struct{}{a, c} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("waiter not woken by Ring")
		}
	}
	select {
	case <-b.Wait():
		t.Fatal("a wait taken after the ring is already woken")
	default:
	}
	b.Ring() // ringing with nobody waiting is a no-op
}
