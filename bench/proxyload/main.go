// Command proxyload measures the egress proxy on loopback, in one run:
// HTTPS requests through the MITM proxy and directly to the same upstream,
// with keep-alive and with a new connection per request, at concurrency 1
// and 64; requests/s, p50 and p99 latency and the proxy/direct ratios; and
// the incremental RSS of an idle bottle proxy.
//
//	go run ./bench/proxyload [-duration 5s] [-idle 50]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long each measurement runs")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each measurement")
	idle := flag.Int("idle", 50, "idle proxies to start for the RSS measurement (0: skip)")
	body := flag.Int("body", 1024, "upstream response body size in bytes")
	upstreamH2 := flag.Bool("upstream-h2", true, "let the upstream offer HTTP/2 (as real APIs do)")
	rssChild := flag.Int("rss-child", 0, "internal: start this many idle proxies and report RSS")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	only := flag.String("only", "", "run only this mode: keep-alive or new-conn")
	flag.IntVar(&rounds, "rounds", 5, "alternate direct and proxy this many times per point, so background load hits both alike")
	flag.Parse()
	onlyMode = *only
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "proxyload:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *rssChild > 0 {
		if err := rssChildMain(*rssChild); err != nil {
			fmt.Fprintln(os.Stderr, "proxyload:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*duration, *warmup, *idle, *body, *upstreamH2); err != nil {
		fmt.Fprintln(os.Stderr, "proxyload:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(duration, warmup time.Duration, idle, body int, upstreamH2 bool) error {
	env, err := newEnv(body, upstreamH2)
	if err != nil {
		return err
	}
	defer env.close()
	fmt.Printf("proxyload: %s, GOMAXPROCS=%d, %d-byte responses, upstream h2=%v, %s per point and path in %d alternating rounds\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), body, upstreamH2, duration, rounds)
	fmt.Printf("%-10s %4s  %-6s %10s %10s %10s\n", "mode", "conc", "path", "req/s", "p50", "p99")
	type key struct {
		keepAlive bool
		conc      int
	}
	results := map[key][2]result{}
	for _, keepAlive := range []bool{true, false} {
		if onlyMode != "" && onlyMode != modeName(keepAlive) {
			continue
		}
		for _, conc := range []int{1, 64} {
			pair, err := env.measurePair(keepAlive, conc, warmup, duration, rounds)
			if err != nil {
				return err
			}
			for i, viaProxy := range []bool{false, true} {
				r := pair[i]
				fmt.Printf("%-10s %4d  %-6s %10.0f %10s %10s\n", modeName(keepAlive), conc, pathName(viaProxy),
					r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
			}
			results[key{keepAlive, conc}] = pair
		}
	}
	if onlyMode != "" {
		return nil
	}
	fmt.Println()
	fmt.Printf("%-10s %4s  %14s %16s %16s\n", "mode", "conc", "proxy/direct", "added p50", "added p99")
	for _, keepAlive := range []bool{true, false} {
		for _, conc := range []int{1, 64} {
			p := results[key{keepAlive, conc}]
			fmt.Printf("%-10s %4d  %13.1f%% %16s %16s\n", modeName(keepAlive), conc, 100*p[1].rps/p[0].rps,
				(p[1].p50 - p[0].p50).Round(time.Microsecond), (p[1].p99 - p[0].p99).Round(time.Microsecond))
		}
	}
	ka64, nc64, c1 := results[key{true, 64}], results[key{false, 64}], results[key{true, 1}]
	fmt.Println()
	fmt.Printf("target keep-alive c64 >= 50%% of direct: %5.1f%% %s\n", 100*ka64[1].rps/ka64[0].rps, verdict(ka64[1].rps/ka64[0].rps >= .5))
	fmt.Printf("target new-conn   c64 >= 40%% of direct: %5.1f%% %s\n", 100*nc64[1].rps/nc64[0].rps, verdict(nc64[1].rps/nc64[0].rps >= .4))
	added := c1[1].p50 - c1[0].p50
	fmt.Printf("target added p50 at c1 < 0.5 ms:        %s %s\n", added.Round(time.Microsecond), verdict(added < 500*time.Microsecond))
	if idle > 0 {
		per, err := measureIdleRSS(idle)
		if err != nil {
			return err
		}
		fmt.Printf("target idle proxy < 2 MiB RSS:          %.0f KiB per proxy (%d proxies) %s\n", per/1024, idle, verdict(per < 2<<20))
	}
	return nil
}

// rounds is how many alternating slices each point is measured in.
var rounds int

// onlyMode restricts a run to one mode, for profiling.
var onlyMode string

func modeName(keepAlive bool) string {
	if keepAlive {
		return "keep-alive"
	}
	return "new-conn"
}

func pathName(viaProxy bool) string {
	if viaProxy {
		return "proxy"
	}
	return "direct"
}

func verdict(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(MISSED)"
}
