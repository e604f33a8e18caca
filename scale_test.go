package main

import (
	"slices"
	"testing"
	"time"
)

// TestManyBottles is BenchmarkManyBottles at a size CI can afford: one
// serve owns a fleet grown from 5 to 30 idle bottles, and a launch at 30
// must not cost much more than one at 5 (the median of 8 launches each; a
// launch that scanned every running bottle, or slept for each, cost
// several times more); ps lists every bottle; and when serve stops, every
// bottle ends with it, in parallel (the time is logged, as are the same
// figures for 8 bottles each owned by its own `bot-bottle launch`).
func TestManyBottles(t *testing.T) {
	if testing.Short() {
		t.Skip("launches 40 bottles")
	}
	t.Run("serve", func(t *testing.T) {
		f := newFleet(t, true)
		f.grow(5)
		small := median(f.probe(8))
		f.grow(30)
		large := median(f.probe(8))
		t.Logf("launch p50: %v with 5 running, %v with 30 (%.2fx)", small, large, float64(large)/float64(small))
		if large > 4*small {
			t.Errorf("a launch with 30 bottles running took %.1fx one with 5 (p50 %v, %v): its cost grows with the bottles running",
				float64(large)/float64(small), large, small)
		}
		checkPS(t, f, f.size())
		stop, cpu := f.stopAll()
		t.Logf("stopping serve with %d bottles took %v (%v of CPU)", f.size(), stop, cpu)
		checkPS(t, f, 0)
	})
	t.Run("launch", func(t *testing.T) {
		f := newFleet(t, false)
		f.grow(8)
		checkPS(t, f, 8)
		stop, _ := f.stopAll()
		t.Logf("stopping 8 launch owners took %v", stop)
		checkPS(t, f, 0)
	})
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// checkPS fails unless ps lists want running bottles.
func checkPS(t *testing.T, f *fleet, want int) {
	t.Helper()
	n, err := f.ps()
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		out, _ := f.e.cli("ps")
		t.Errorf("ps lists %d running bottles, want %d:\n%s", n, want, out)
	}
}
