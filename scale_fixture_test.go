package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// fleet is many idle bottles (`sleep`) on the local backend of one home,
// owned either by one `bot-bottle serve --http` (launched with
// bottle_launch over MCP) or each by its own `bot-bottle launch` process.
// Every bottle has a workdir of its own, as agents on many projects would.
type fleet struct {
	t     testing.TB
	e     *e2e
	serve bool

	// serve mode
	srv    *exec.Cmd
	srvEnd chan struct{}
	base   string // http://127.0.0.1:port
	token  string
	op     *sdk.ClientSession
	client *http.Client // with the bearer token

	mu     sync.Mutex
	owners []*fleetOwner // launch mode: one process per bottle
	ids    []string
}

// fleetOwner is one `bot-bottle launch` process of a launch-mode fleet.
type fleetOwner struct {
	cmd  *exec.Cmd
	done chan struct{}
}

const fleetToken = "fleet-bench-token-0123456789abcdef0123456789abcdef"

// newFleet sets up an empty fleet; with serve, its serve runs.
func newFleet(t testing.TB, serve bool) *fleet {
	t.Helper()
	f := &fleet{t: t, e: newE2E(t, "local"), serve: serve}
	t.Cleanup(f.close)
	if serve {
		f.startServe()
	}
	return f
}

var fleetServeLine = serveLine

// fleetSleep is how long a fleet's bottles idle (seconds): longer than any
// ramp, since a bottle that ends before the fleet is whole shrinks it (at
// 1,000 on a loaded 2-core machine the ramp took over 15 minutes, and the
// first bottles of 900 s ended); the fleet is stopped at the end anyway.
const fleetSleep = "86400"

func (f *fleet) startServe() {
	f.t.Helper()
	f.token = fleetToken
	cmd := f.e.command("serve", "--http", "127.0.0.1:0")
	cmd.Env = append(cmd.Env, "BOT_BOTTLE_TOKEN="+f.token)
	if d := os.Getenv("BOT_BOTTLE_CPUPROFILE_DIR"); d != "" { // serve's CPU profile over the whole fleet
		cmd.Env = append(cmd.Env, "BOT_BOTTLE_CPUPROFILE_DIR="+d)
	}
	stderr, err := cmd.StderrPipe()
	must(f.t, err)
	must(f.t, cmd.Start())
	f.srv, f.srvEnd = cmd, make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := fleetServeLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			} else if !strings.Contains(sc.Text(), "review desk") {
				f.t.Logf("serve: %s", sc.Text())
			}
		}
		_ = cmd.Wait()
		close(f.srvEnd)
	}()
	select {
	case f.base = <-urls:
	case <-time.After(time.Minute):
		f.t.Fatal("serve did not start")
	}
	f.client = &http.Client{Transport: bearerRT{token: f.token}}
	f.op, err = sdk.NewClient(&sdk.Implementation{Name: "fleet", Version: "0"}, nil).Connect(context.Background(),
		&sdk.StreamableClientTransport{Endpoint: f.base + "/mcp", HTTPClient: f.client}, nil)
	must(f.t, err)
}

// workdir returns a fresh workdir for the fleet's i-th bottle.
func (f *fleet) workdir(i int) string {
	dir := filepath.Join(f.e.base, "w", strconv.Itoa(i))
	must(f.t, os.MkdirAll(dir, 0o755))
	return dir
}

// launch starts one more bottle (`sleep` fleetSleep) and returns how long its
// owner took to say it runs: bottle_launch's round trip, or from starting
// `bot-bottle launch` to its "is running" line.
func (f *fleet) launch() (time.Duration, error) {
	f.mu.Lock()
	i := len(f.ids) + len(f.owners)
	f.mu.Unlock()
	dir := f.workdir(i)
	if f.serve {
		start := time.Now()
		res, err := f.op.CallTool(context.Background(), &sdk.CallToolParams{Name: "bottle_launch",
			Arguments: map[string]any{"name": "demo", "command": []string{"sleep", fleetSleep}, "workdir": dir}})
		took := time.Since(start)
		if err != nil {
			return took, err
		}
		if res.IsError {
			return took, fmt.Errorf("bottle_launch: %s", toolText(res))
		}
		var got struct {
			ID string `json:"id"`
		}
		data, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(data, &got)
		f.mu.Lock()
		f.ids = append(f.ids, got.ID)
		f.mu.Unlock()
		return took, nil
	}
	cmd := exec.Command(f.e.bin, "launch", "--backend", "local", "--workdir", dir, "demo", "--", "sleep", fleetSleep)
	cmd.Env, cmd.Dir = f.e.env, dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	o := &fleetOwner{cmd: cmd, done: make(chan struct{})}
	f.mu.Lock()
	f.owners = append(f.owners, o)
	f.mu.Unlock()
	running := make(chan string, 1)
	var said strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := idLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				running <- m[1]
				sent = true
			} else if !sent {
				said.WriteString(sc.Text() + "\n")
			}
		}
		if !sent {
			close(running)
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(o.done)
	}()
	select {
	case _, ok := <-running:
		took := time.Since(start)
		if !ok {
			<-o.done
			return took, fmt.Errorf("launch ended without a bottle: %s", said.String())
		}
		return took, nil
	case <-time.After(2 * time.Minute):
		return time.Since(start), fmt.Errorf("launch did not say its bottle runs within 2m")
	}
}

// grow launches bottles, one after another, until the fleet has n.
func (f *fleet) grow(n int) {
	f.t.Helper()
	for f.size() < n {
		if _, err := f.launch(); err != nil {
			f.t.Fatalf("launch bottle %d: %v", f.size()+1, err)
		}
	}
}

// size is how many bottles the fleet launched.
func (f *fleet) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids) + len(f.owners)
}

// probe launches k more bottles, one after another, and returns their
// times, sorted.
func (f *fleet) probe(k int) []time.Duration {
	f.t.Helper()
	var out []time.Duration
	for range k {
		took, err := f.launch()
		if err != nil {
			f.t.Fatalf("launch bottle %d: %v", f.size(), err)
		}
		out = append(out, took)
	}
	slices.Sort(out)
	return out
}

// timed returns the median time of three runs of fn.
func timed(t testing.TB, fn func() error) time.Duration {
	t.Helper()
	var ds []time.Duration
	for range 3 {
		start := time.Now()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[1]
}

// ps runs `bot-bottle ps` and returns how many bottles it lists.
func (f *fleet) ps() (int, error) {
	out, err := f.e.cli("ps")
	if err != nil {
		return 0, fmt.Errorf("ps: %v: %s", err, out)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " running ") || strings.HasSuffix(l, " running") {
			n++
		}
	}
	return n, nil
}

// notRunning returns up to max lines of `ps --all` for bottles that are
// not running, for a report of a fleet that shrank.
func (f *fleet) notRunning(max int) string {
	out, err := f.e.cli("ps", "--all")
	if err != nil {
		return fmt.Sprintf("ps --all: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.Contains(l, " running ") && !strings.HasSuffix(l, " running") && len(lines) < max {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// call calls an operator tool and fails on an error result.
func (f *fleet) call(name string, args map[string]any) error {
	res, err := f.op.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if res.IsError {
		return fmt.Errorf("%s: %s", name, toolText(res))
	}
	return nil
}

// reviewPage fetches the review page.
func (f *fleet) reviewPage() error {
	resp, err := f.client.Get(f.base + "/review")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /review: %s", resp.Status)
	}
	return nil
}

// owners returns the pids whose process trees hold the fleet.
func (f *fleet) ownerPIDs() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.serve {
		return []int{f.srv.Process.Pid}
	}
	var out []int
	for _, o := range f.owners {
		out = append(out, o.cmd.Process.Pid)
	}
	return out
}

// stopAll ends every bottle: serve gets SIGTERM (its bottles stop with
// it), every launch process gets SIGTERM at once. It returns the time until
// every owner has exited, each having torn its bottles down, and, with
// serve, the CPU time serve and everything below it used meanwhile.
func (f *fleet) stopAll() (took, cpu time.Duration) {
	f.t.Helper()
	var before time.Duration
	if f.serve && f.srv != nil {
		before = treeCPU(f.srv.Process.Pid)
	}
	start := time.Now()
	var dones []chan struct{}
	f.mu.Lock()
	if f.serve && f.srv != nil {
		_ = f.srv.Process.Signal(syscall.SIGTERM)
		dones = append(dones, f.srvEnd)
	}
	for _, o := range f.owners {
		_ = o.cmd.Process.Signal(syscall.SIGTERM)
		dones = append(dones, o.done)
	}
	f.mu.Unlock()
	deadline := time.After(5 * time.Minute)
	for _, d := range dones {
		select {
		case <-d:
		case <-deadline:
			f.t.Fatalf("owners did not exit within 5m of SIGTERM")
		}
	}
	took = time.Since(start)
	if f.serve && f.srv != nil && f.srv.ProcessState != nil {
		ps := f.srv.ProcessState
		cpu = ps.UserTime() + ps.SystemTime() - before
	}
	return took, cpu
}

// treeCPU is the CPU time process pid and every process below it have
// used, including their children already reaped: once pid has exited and
// reaped them all, wait4 reports the same total for it. A live process's
// time is its threads' run time in nanoseconds (/proc/PID/task/*/schedstat),
// not the clock ticks of /proc/PID/stat, whose rounding over hundreds of
// processes would be seconds; only the reaped children's (cutime, cstime)
// are in ticks.
func treeCPU(pid int) time.Duration {
	var total time.Duration
	for _, p := range processTree([]int{pid}) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p))
		for _, t := range tasks {
			data, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			if f := strings.Fields(string(data)); len(f) > 0 {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				total += time.Duration(ns)
			}
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) "
		for _, i := range []int{13, 14} {                             // cutime cstime, fields 16-17
			if i < len(fields) {
				n, _ := strconv.ParseInt(fields[i], 10, 64)
				total += time.Duration(n) * time.Second / 100 // USER_HZ
			}
		}
	}
	return total
}

// close kills whatever still runs (a failed run) and cleans the home up.
func (f *fleet) close() {
	if f.op != nil {
		f.op.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-f.srvEnd:
		case <-time.After(2 * time.Minute):
			_ = f.srv.Process.Kill()
			<-f.srvEnd
		}
	}
	for _, o := range f.owners {
		_ = o.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, o := range f.owners {
		select {
		case <-o.done:
		case <-time.After(2 * time.Minute):
			_ = o.cmd.Process.Kill()
			<-o.done
		}
	}
}
