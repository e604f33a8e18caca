package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// BenchmarkIdleBottleMemory reports what an idle bottle (its command is
// `sleep`) costs, per backend, in KiB. owner-rss is the whole
// `bot-bottle launch` process (Go runtime, store, the bottle's proxy and
// agent surface). init-rss, init-pss and init-uss are the in-bottle init:
// most of its RSS is the bot-bottle binary's pages, shared with the owner
// and every other bottle, so uss (its private pages) is what one more
// bottle adds. container-mem (docker) is the container's memory usage as
// the daemon reports it (usage minus page cache), init and command
// together.
//
//	go test -run '^$' -bench IdleBottleMemory -benchtime 1x .
func BenchmarkIdleBottleMemory(b *testing.B) {
	for _, be := range backends {
		b.Run(be, func(b *testing.B) {
			e := newE2E(b, be)
			for i := 0; i < b.N; i++ {
				r := e.start("sh", "-c", "echo ready; exec sleep 300")
				owner := r.cmd.Process.Pid
				b.ReportMetric(memKiB(b, owner, "Rss"), "owner-rss-KiB")
				initPID := 0
				if be == "local" {
					initPID = firstChild(b, owner)
				} else {
					cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
					must(b, err)
					name := "bot-bottle-" + r.id
					in, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
					must(b, err)
					initPID = in.Container.State.Pid
					b.ReportMetric(containerMemKiB(b, cli, name), "container-mem-KiB")
					cli.Close()
				}
				b.ReportMetric(memKiB(b, initPID, "Rss"), "init-rss-KiB")
				b.ReportMetric(memKiB(b, initPID, "Pss"), "init-pss-KiB")
				b.ReportMetric(memKiB(b, initPID, "Private_Clean")+memKiB(b, initPID, "Private_Dirty"), "init-uss-KiB")
				if out, err := e.cli("stop", r.id); err != nil {
					b.Fatalf("stop: %v %s", err, out)
				}
			}
		})
	}
}

// memKiB reads one field (Rss, Pss) of /proc/PID/smaps_rollup.
func memKiB(b *testing.B, pid int, field string) float64 {
	b.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	must(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			must(b, err)
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/smaps_rollup", field, pid)
	return 0
}

// firstChild returns the first child of pid (the local bottle's init).
func firstChild(b *testing.B, pid int) int {
	b.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	must(b, err)
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			return n
		}
	}
	// The init may have been started from another thread of the owner.
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				return n
			}
		}
	}
	b.Fatalf("pid %d has no child", pid)
	return 0
}

// containerMemKiB is the container's memory usage without page cache, as
// `docker stats` computes it.
func containerMemKiB(b *testing.B, cli *client.Client, id string) float64 {
	b.Helper()
	res, err := cli.ContainerStats(context.Background(), id, client.ContainerStatsOptions{Stream: false})
	must(b, err)
	defer res.Body.Close()
	var st struct {
		MemoryStats struct {
			Usage uint64            `json:"usage"`
			Stats map[string]uint64 `json:"stats"`
		} `json:"memory_stats"`
	}
	must(b, json.NewDecoder(res.Body).Decode(&st))
	cache := st.MemoryStats.Stats["total_inactive_file"]
	if v, ok := st.MemoryStats.Stats["inactive_file"]; ok {
		cache = v
	}
	return float64(st.MemoryStats.Usage-cache) / 1024
}
