package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLaunchToFirstInstruction measures, per backend, the time from
// starting `bot-bottle launch` (a fresh process: it opens the store, plans,
// mints the CA, starts the proxy, then the bottle) to the first instruction
// of the command, which opens a FIFO the benchmark is reading. ns/op is that
// time; p50-ms and p95-ms its percentiles.
//
//	go test -run '^$' -bench LaunchToFirstInstruction -benchtime 20x .
func BenchmarkLaunchToFirstInstruction(b *testing.B) {
	for _, be := range backends {
		b.Run(be, func(b *testing.B) {
			e := newE2E(b, be)
			typicalRepo(b, e.workdir)
			fifo := filepath.Join(e.workdir, "first")
			if err := syscall.Mkfifo(fifo, 0o666); err != nil {
				b.Fatal(err)
			}
			// Warm up once (the docker default image is built on first use).
			runOnce(b, e, fifo)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lat = append(lat, runOnce(b, e, fifo))
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
func runOnce(b *testing.B, e *e2e, fifo string) time.Duration {
	b.StartTimer()
	start := time.Now()
	cmd := e.command(e.launchArgs("sh", "-c", "echo > "+fifo)...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(fifo) // blocks until the command opens it for writing
	took := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 8)
	_, _ = f.Read(buf)
	f.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatal(fmt.Errorf("launch: %w", err))
	}
	return took
}
