package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLaunchToFirstInstruction measures, per backend, the time from
// starting `bot-bottle launch` (a fresh process: it opens the store, plans,
// mints the CA, starts the proxy, then the bottle) to the first instruction
// of the command, which creates a file the benchmark polls for (each ms). ns/op is that
// time; p50-ms and p95-ms its percentiles.
//
//	go test -run '^$' -bench LaunchToFirstInstruction -benchtime 20x .
func BenchmarkLaunchToFirstInstruction(b *testing.B) {
	for _, be := range backends {
		b.Run(be, func(b *testing.B) {
			e := newE2E(b, be)
			typicalRepo(b, e.workdir)
			mark := filepath.Join(e.workdir, "first")
			// Warm up once (the docker default image is built on first use).
			runOnce(b, e, mark)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lat = append(lat, runOnce(b, e, mark))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*95)/100])/1e6, "p95-ms")
		})
	}
}

// typicalRepo makes dir a checkout of this repository (a few hundred
// files, real history), so the launch protects a workdir as it finds one:
// a .git folder, hooks, config, nested folders to scan.
func typicalRepo(b *testing.B, dir string) {
	b.Helper()
	src, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"fetch", "-q", "--depth", "50", src, "HEAD"}, {"checkout", "-q", "FETCH_HEAD"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// runOnce launches `sh -c 'echo > FIFO'` and returns the time until the
// FIFO's writer appears; the teardown that follows is not counted.
func runOnce(b *testing.B, e *e2e, mark string) time.Duration {
	_ = os.Remove(mark)
	b.StartTimer()
	start := time.Now()
	cmd := e.command(e.launchArgs("sh", "-c", ": > "+mark)...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// A file, polled, rather than a FIFO the command opens: a FIFO in the
	// workdir does not cross gVisor's file server, a file does.
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	if err := cmd.Wait(); err != nil {
		b.Fatal(fmt.Errorf("launch: %w", err))
	}
	return took
}

// BenchmarkParallelLaunches starts 20, then 100 `bot-bottle launch demo --
// true` at once on the local backend (one store, one home) and reports the median
// and p95 wall time of a launch (p50-ms, p95-ms), the median of ten
// launches one after another (single-ms), their ratio (ratio), the
// launches that failed or printed anything but their "is running" line
// (warnings), and the CPU the 100 used divided by the cores (cpu-floor-ms:
// the least time the last of them can take when they share the machine;
// on two cores that, not the store, bounds a hundred parallel launches).
//
//	go test -run '^$' -bench ParallelLaunches -benchtime 1x .
func BenchmarkParallelLaunches(b *testing.B) {
	for _, parallel := range []int{20, 100} {
		b.Run(fmt.Sprintf("n=%d", parallel), func(b *testing.B) { benchParallelLaunches(b, parallel) })
	}
}

func benchParallelLaunches(b *testing.B, parallel int) {
	const singles = 10
	e := newE2E(b, "local")
	launch := func() (time.Duration, string, error) {
		cmd := e.command(e.launchArgs("true")...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		start := time.Now()
		err := cmd.Run()
		return time.Since(start), errb.String(), err
	}
	if _, out, err := launch(); err != nil { // the store exists, the binary is in the page cache
		b.Fatalf("first launch: %v: %s", err, out)
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	for range b.N {
		var single []time.Duration
		for range singles {
			took, out, err := launch()
			if err != nil {
				b.Fatalf("launch: %v: %s", err, out)
			}
			single = append(single, took)
		}
		var before, after syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
		type result struct {
			took   time.Duration
			stderr string
			err    error
		}
		results := make(chan result, parallel)
		for range parallel {
			go func() {
				took, out, err := launch()
				results <- result{took, out, err}
			}()
		}
		var took []time.Duration
		warnings := 0
		for range parallel {
			r := <-results
			took = append(took, r.took)
			for _, l := range launchNoise(r.stderr) {
				warnings++
				if warnings <= 3 {
					b.Logf("launch: %v: %s", r.err, l)
				}
			}
			if r.err != nil && r.stderr == "" {
				warnings++
			}
		}
		_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(runtime.NumCPU())
		p50, s := median(took), median(single)
		b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(took[len(took)*95/100].Milliseconds()), "p95-ms")
		b.ReportMetric(float64(s.Milliseconds()), "single-ms")
		b.ReportMetric(float64(p50)/float64(s), "ratio")
		b.ReportMetric(float64(cpu.Milliseconds()), "cpu-floor-ms")
		b.ReportMetric(float64(warnings), "warnings")
	}
}
