package launcher_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
)

// BenchmarkLaunchInProcess is the launch latency an MCP server sees: the
// launcher already built (store open, backend checked once), Launch until
// the command's first output. ns/op is that latency.
//
//	go test -run '^$' -bench LaunchInProcess -benchtime 30x ./launcher/
func BenchmarkLaunchInProcess(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		out := &lockedBuffer{}
		start := time.Now()
		bt, err := w.l.Launch(ctx, launcher.Options{Name: "demo", Workdir: w.workdir,
			Command: []string{"sh", "-c", "echo first"}, Stdio: launcher.Stdio{Out: out, Err: out}})
		if err != nil {
			b.Fatal(err)
		}
		out.waitFor(b, "first")
		lat = append(lat, time.Since(start))
		b.StopTimer()
		if _, err := bt.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*95)/100])/1e6, "p95-ms")
}

// BenchmarkIdleBottleOwnerShare is what each idle bottle adds to its
// owner: its proxy, agent-surface server, output log and stop-request
// follower. It launches 20 bottles whose command sleeps and reports the
// owner's RSS growth per bottle (after a GC, so garbage does not count).
//
//	go test -run '^$' -bench IdleBottleOwnerShare -benchtime 1x ./launcher/
func BenchmarkIdleBottleOwnerShare(b *testing.B) {
	const n = 20
	w := newWorld(b)
	ctx := context.Background()
	// One bottle first, so one-time costs (the store, the first proxy's
	// code paths) are not charged to the others.
	first, err := w.l.Launch(ctx, launcher.Options{Name: "demo", Workdir: w.workdir, Command: []string{"sleep", "300"}})
	if err != nil {
		b.Fatal(err)
	}
	defer first.Stop(ctx)
	for i := 0; i < b.N; i++ {
		before := settledRSS(b)
		var bottles []*launcher.Bottle
		for j := 0; j < n; j++ {
			bt, err := w.l.Launch(ctx, launcher.Options{Name: "demo", Workdir: w.workdir, Command: []string{"sleep", "300"}})
			if err != nil {
				b.Fatal(err)
			}
			bottles = append(bottles, bt)
		}
		after := settledRSS(b)
		b.ReportMetric((after-before)/n, "owner-KiB/bottle")
		for _, bt := range bottles {
			bt.Stop(ctx)
		}
	}
}

// settledRSS returns this process's RSS in KiB after returning garbage to
// the OS.
func settledRSS(b *testing.B) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
