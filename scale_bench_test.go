package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fleetSizes are the numbers of running bottles BenchmarkManyBottles
// measures at: $BOT_BOTTLE_FLEET (comma-separated), else 10,100,1000.
func fleetSizes(b *testing.B) []int {
	spec := os.Getenv("BOT_BOTTLE_FLEET")
	if spec == "" {
		spec = "10,100,1000"
	}
	var out []int
	for _, s := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			b.Fatalf("BOT_BOTTLE_FLEET=%q: %q is not a count", spec, s)
		}
		out = append(out, n)
	}
	return out
}

// fleetProbes is how many launches are timed at each size.
const fleetProbes = 20

// BenchmarkManyBottles grows a fleet of idle bottles (`sleep` for a day, local
// backend, a workdir each) and, at each size N of $BOT_BOTTLE_FLEET
// (default 10,100,1000), times 20 more launches one after another (p50
// and p99 in ms; p99 of 20 is their largest), `bot-bottle ps` (median of 3),
// and the host memory per bottle: pss-KiB is the owners' process trees
// (owner, init, command) divided by N, used-KiB the machine's memory in use
// (kernel included, and moved by anything else running) since before the
// first launch, divided by N. At the end it times the stop of all of them
// (stop-all-ms: until every owner has exited, having torn its bottles down;
// with serve, stop-cpu-ms is the CPU time serve and its bottles used
// meanwhile, which the machine's other load moves far less).
//
// serve: one `bot-bottle serve --http` owns the fleet, launched with
// bottle_launch over MCP; it also times bottle_list, egress_denials and
// the review page. launch: each bottle is owned by its own `bot-bottle
// launch`, timed from its start to its "is running" line; stop-all
// signals every owner at once.
//
//	BOT_BOTTLE_FLEET=10,100,1000 go test -run '^$' -bench ManyBottles -benchtime 1x -timeout 2h .
func BenchmarkManyBottles(b *testing.B) {
	sizes := fleetSizes(b)
	for _, mode := range []string{"serve", "launch"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				benchFleet(b, mode == "serve", sizes)
			}
		})
	}
}

func benchFleet(b *testing.B, serve bool, sizes []int) {
	f := newFleet(b, serve)
	before := hostUsedKiB()
	for _, n := range sizes {
		f.grow(n)
		running := f.size()
		pss, _ := treePSS(f.ownerPIDs())
		used := hostUsedKiB() - before
		lat := f.probe(fleetProbes)
		at := func(p float64) float64 { return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)]) / 1e6 }
		tag := fmt.Sprintf("n%d-", n)
		b.ReportMetric(at(0.5), tag+"launch-p50-ms")
		b.ReportMetric(at(0.99), tag+"launch-p99-ms")
		b.ReportMetric(pss/float64(running), tag+"pss-KiB/bottle")
		b.ReportMetric(used/float64(running), tag+"used-KiB/bottle")
		b.ReportMetric(ms(timed(b, func() error { _, err := f.ps(); return err })), tag+"ps-ms")
		// A bottle that ended early shrinks the fleet the figures are
		// divided by: say so rather than report a cheaper fleet.
		if alive, err := f.ps(); err != nil || alive != f.size() {
			b.Errorf("at %d: %d of %d launched bottles are running (%v); not running:\n%s", n, alive, f.size(), err, f.notRunning(10))
		}
		if serve {
			b.ReportMetric(ms(timed(b, func() error { return f.call("bottle_list", nil) })), tag+"bottle_list-ms")
			b.ReportMetric(ms(timed(b, func() error { return f.call("egress_denials", nil) })), tag+"egress_denials-ms")
			b.ReportMetric(ms(timed(b, f.reviewPage)), tag+"review-ms")
		}
	}
	total := f.size()
	stop, cpu := f.stopAll()
	b.ReportMetric(ms(stop), "stop-all-ms")
	if serve {
		b.ReportMetric(ms(cpu), "stop-cpu-ms")
	}
	b.ReportMetric(float64(total), "bottles")
	if n, err := f.ps(); err != nil || n != 0 {
		b.Errorf("after the owners exited, ps lists %d running bottles (%v)", n, err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
