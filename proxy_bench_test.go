package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkProxyThroughput measures the egress proxy from inside a bottle,
// per backend (docker under runc and under gVisor's runsc side by side): a
// client in the bottle (bottleclient, Go's net/http through HTTPS_PROXY,
// keep-alive) downloads a 32 MiB body from a loopback TLS upstream through
// the proxy's MITM 8 times (MB/s), then makes 400 small requests from 4
// workers (req/s). The route is authenticated, so the proxy injects the
// credential and masks it in each response, as for an agent's API calls.
// Timings are the client's, inside the bottle, one bottle per backend.
//
//	go test -run '^$' -bench ProxyThroughput -benchtime 1x .
func BenchmarkProxyThroughput(b *testing.B) {
	const size, downloads, requests, workers = 32 << 20, 8, 400, 4
	for _, be := range backends {
		b.Run(be, func(b *testing.B) {
			e := newE2E(b, be)
			for i := 0; i < b.N; i++ {
				code, out, errOut := e.run("sh", "-c", fmt.Sprintf(`%[1]s download https://allowed.test/bytes/%[2]d %[3]d && %[1]s requests https://allowed.test/small %[4]d %[5]d`,
					e.client, size, downloads, requests, workers))
				if code != 0 {
					b.Fatalf("exit %d\n%s\n%s", code, out, errOut)
				}
				got := map[string]float64{}
				for _, f := range strings.Fields(out) {
					if k, v, ok := strings.Cut(f, "="); ok {
						got[k], _ = strconv.ParseFloat(v, 64)
					}
				}
				dl, rq := secondsOf(out)
				if got["bytes"] != size*downloads || got["requests"] != requests || dl <= 0 || rq <= 0 {
					b.Fatalf("unexpected answer from the client: %q", out)
				}
				b.ReportMetric(got["bytes"]/dl/1e6, "MB/s")
				b.ReportMetric(float64(requests)/rq, "req/s")
			}
		})
	}
}

// secondsOf returns the download's and the requests' durations.
func secondsOf(out string) (download, requests float64) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !strings.HasPrefix(f[1], "seconds=") {
			continue
		}
		s, _ := strconv.ParseFloat(strings.TrimPrefix(f[1], "seconds="), 64)
		if strings.HasPrefix(f[0], "bytes=") {
			download = s
		} else {
			requests = s
		}
	}
	return download, requests
}

// serveBytes writes a body of n bytes (n in decimal), at most 1 GiB.
func serveBytes(w http.ResponseWriter, n string) {
	size, err := strconv.Atoi(n)
	if err != nil || size < 0 || size > 1<<30 {
		http.Error(w, "bad size", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for size > 0 {
		k := min(size, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		size -= k
	}
}
