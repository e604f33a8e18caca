package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// measureIdleRSS starts a child process that brings up n idle bottle
// proxies, each with its own CA, listener, table and metrics, and returns
// the RSS it gained per proxy beyond a baseline proxy that pays for the
// shared code and data once.
func measureIdleRSS(n int) (float64, error) {
	out, err := exec.Command(os.Args[0], "-rss-child", strconv.Itoa(n)).Output()
	if err != nil {
		return 0, fmt.Errorf("rss child: %w", err)
	}
	var r struct{ Before, After int64 }
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("rss child said %q: %w", out, err)
	}
	return float64(r.After-r.Before) / float64(n), nil
}

func rssChildMain(n int) error {
	start := func() (*egressproxy.Proxy, error) {
		ca, err := egressproxy.NewCA()
		if err != nil {
			return nil, err
		}
		p, err := egressproxy.New(egressproxy.Config{
			Bottle: fmt.Sprintf("idle-%d", time.Now().UnixNano()),
			Routes: &schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{
				{Host: "api.github.com", PathAllowlist: []string{"/repos/myorg/"}, Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_0"}},
				{Host: "api.anthropic.com", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_1"}},
				{Host: "registry.npmjs.org", TLSPassthrough: true},
			}},
			Tokens: map[string]schemas.Secret{"EGRESS_TOKEN_0": schemas.NewSecret("ghp_0123456789abcdef0123456789"),
				"EGRESS_TOKEN_1": schemas.NewSecret("sk-ant-0123456789abcdef0123456789")},
			CA: ca,
		})
		if err != nil {
			return nil, err
		}
		l, err := egressproxy.Listen("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		go p.Serve(l)
		return p, nil
	}
	var keep []*egressproxy.Proxy
	p, err := start() // the baseline: code pages, system roots, runtime
	if err != nil {
		return err
	}
	keep = append(keep, p)
	before := settledRSS()
	for range n {
		p, err := start()
		if err != nil {
			return err
		}
		keep = append(keep, p)
	}
	after := settledRSS()
	runtime.KeepAlive(keep)
	return json.NewEncoder(os.Stdout).Encode(struct{ Before, After int64 }{before, after})
}

// settledRSS collects garbage, returns freed memory to the OS and reads
// VmRSS.
func settledRSS() int64 {
	time.Sleep(100 * time.Millisecond) // let the proxies' goroutines start
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
