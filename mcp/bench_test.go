package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/mcp"
	"github.com/bot-bottle/bot-bottle/schemas"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The benchmarks measure the real binary from an independent client (the
// official Go SDK) and report percentiles next to ns/op:
//
//	go test -run '^$' -bench . -benchtime 300x ./mcp/
//
// Absolute numbers depend on the machine; nothing here asserts on them.

// percentiles reports p50 and pX of ds (in microseconds) as metrics.
func percentiles(b *testing.B, ds []time.Duration, prefix string, high float64) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := min(int(p*float64(len(ds))), len(ds)-1)
		return float64(ds[i].Microseconds())
	}
	b.ReportMetric(at(0.50), prefix+"p50-µs")
	b.ReportMetric(at(high), fmt.Sprintf("%sp%d-µs", prefix, int(high*100)))
}

// benchCalls times b.N calls of bottle_list: a tool that reads the store,
// so the number is the transport plus one small query.
func benchCalls(b *testing.B, cs *sdk.ClientSession) {
	ctx := context.Background()
	// Warm up the connection and the server's caches.
	for range 10 {
		sdkCall(b, cs, "bottle_list", nil)
	}
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "bottle_list", Arguments: map[string]any{}})
		ds = append(ds, time.Since(start))
		if err != nil || res.IsError {
			b.Fatalf("bottle_list: %v %v", err, res)
		}
	}
	b.StopTimer()
	percentiles(b, ds, "", 0.99)
}

func BenchmarkToolCallStdio(b *testing.B) {
	h := newHome(b)
	cs, _ := stdioSession(b, h, newSDKNotes())
	benchCalls(b, cs)
}

func BenchmarkToolCallHTTP(b *testing.B) {
	h := newHome(b)
	s := serveHTTP(b, h, nil)
	token, err := mcp.ReadToken(mcp.TokenPath(h.home))
	must(b, err)
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "0"}, nil).
		Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: s.base + mcp.StreamablePath, HTTPClient: bearerClient(token)}, nil)
	must(b, err)
	defer cs.Close()
	benchCalls(b, cs)
}

// BenchmarkDenialToNotification: a bottle owned by a `bot-bottle launch`
// process curls a denied URL each time the benchmark writes a line to it;
// `bot-bottle serve` (stdio) follows the store and notifies the operator
// client. It reports the time from the proxy's denial (its timestamp) to
// the notification reaching the client, and from the benchmark's write to
// the notification (which adds the curl inside the bottle).
func BenchmarkDenialToNotification(b *testing.B) {
	requireLocal(b)
	h := newHome(b)
	type arrival struct {
		at     time.Time
		denial schemas.Denial
	}
	arrivals := make(chan arrival, 64)
	opts := &sdk.ClientOptions{LoggingMessageHandler: func(_ context.Context, r *sdk.LoggingMessageRequest) {
		now := time.Now()
		data, _ := json.Marshal(r.Params.Data)
		var m struct {
			Event  string         `json:"event"`
			Denial schemas.Denial `json:"denial"`
		}
		if json.Unmarshal(data, &m) == nil && m.Event == "denial" {
			arrivals <- arrival{at: now, denial: m.Denial}
		}
	}}
	cmd := exec.Command(bin, "serve")
	cmd.Env = h.environ()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "0"}, opts).
		Connect(context.Background(), &sdk.CommandTransport{Command: cmd, TerminateDuration: 20 * time.Second}, nil)
	must(b, err)
	defer cs.Close()
	must(b, cs.SetLoggingLevel(context.Background(), &sdk.SetLoggingLevelParams{Level: "info"}))
	l := launchProcess(b, h, "sh", "-c", "while read p; do curl -s -o /dev/null --max-time 10 http://denied.example.com/$p; done")

	var fromDenial, fromWrite []time.Duration
	i := 0
	for b.Loop() {
		i++
		path := fmt.Sprintf("/%d", i)
		start := time.Now()
		if _, err := fmt.Fprintf(l.stdin, "%d\n", i); err != nil {
			b.Fatal(err)
		}
	wait:
		for {
			select {
			case a := <-arrivals:
				if a.denial.Path != path {
					continue
				}
				fromDenial = append(fromDenial, a.at.Sub(a.denial.Time))
				fromWrite = append(fromWrite, a.at.Sub(start))
				break wait
			case <-time.After(time.Minute):
				b.Fatalf("no notification for denial %s", path)
			}
		}
	}
	b.StopTimer()
	percentiles(b, fromDenial, "denial-to-notify-", 0.95)
	percentiles(b, fromWrite, "write-to-notify-", 0.95)
}
