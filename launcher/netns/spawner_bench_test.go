package netns_test

import (
	"io"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkSpawnerStart shows what the spawner is for: it times the start
// of a bottle (Start returning; the bottle runs `true`) started directly
// and through a spawner, while this owner's heap is small and while it
// holds 1 GiB of touched memory, and reports the medians and their ratios.
// Started directly, an init in a new user namespace is a full fork of its
// owner, so its start grows with the owner's memory; through the spawner
// it should not. first-spawner is the first start through a new spawner,
// which starts the spawner too: what a one-bottle owner (launch) would pay.
//
//	go test -run '^$' -bench SpawnerStart -benchtime 1x ./launcher/netns/
func BenchmarkSpawnerStart(b *testing.B) {
	const starts = 15
	direct, spawner := newFixtureMode(b, false), newFixtureMode(b, true)
	median := func(f *fixture) float64 {
		var d []time.Duration
		for range starts {
			t0 := time.Now()
			p := f.start(false, io.Discard, "true")
			d = append(d, time.Since(t0))
			_, _ = p.Wait()
		}
		slices.Sort(d)
		return float64(d[len(d)/2]) / 1e6
	}
	for range b.N {
		// The spawner itself starts at the first launch: what launch, an
		// owner of one bottle, would pay for one.
		t0 := time.Now()
		p := spawner.start(false, io.Discard, "true")
		cold := float64(time.Since(t0)) / 1e6
		_, _ = p.Wait()
		smallDirect, smallSpawner := median(direct), median(spawner)
		b.ReportMetric(cold, "first-spawner-ms")
		b.ReportMetric(cold/smallDirect, "first-spawner/small-direct")
		ballast := make([]byte, 1<<30)
		for i := 0; i < len(ballast); i += 4096 {
			ballast[i] = 1
		}
		bigDirect, bigSpawner := median(direct), median(spawner)
		runtime.KeepAlive(ballast)
		b.ReportMetric(smallDirect, "small-direct-ms")
		b.ReportMetric(smallSpawner, "small-spawner-ms")
		b.ReportMetric(bigDirect, "1GiB-direct-ms")
		b.ReportMetric(bigSpawner, "1GiB-spawner-ms")
		b.ReportMetric(bigDirect/smallDirect, "direct-1GiB/small")
		b.ReportMetric(bigSpawner/smallSpawner, "spawner-1GiB/small")
		b.ReportMetric(bigDirect/bigSpawner, "1GiB-direct/spawner")
	}
}
