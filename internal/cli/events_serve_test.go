package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// controlPlane is a running `bot-bottle events serve`.
type controlPlane struct {
	cmd     *exec.Cmd
	metrics string // http://ADDR/metrics
	mu      sync.Mutex
	log     strings.Builder
	exited  chan struct{}
}

var metricsLine = regexp.MustCompile(`msg=metrics addr=(\S+)`)

func startControlPlane(t *testing.T, home string, args ...string) *controlPlane {
	t.Helper()
	cp := &controlPlane{exited: make(chan struct{})}
	cp.cmd = exec.Command(botBottle(t), append([]string{"events", "serve"}, args...)...)
	cp.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BOT_BOTTLE_HOME=" + home}
	pipe, err := cp.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			cp.mu.Lock()
			cp.log.WriteString(sc.Text() + "\n")
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				cp.metrics = m[1]
			}
			cp.mu.Unlock()
			if strings.Contains(sc.Text(), "control plane listening") {
				close(ready)
			}
		}
		_ = cp.cmd.Wait()
		close(cp.exited)
	}()
	t.Cleanup(func() {
		_ = cp.cmd.Process.Kill()
		<-cp.exited
	})
	select {
	case <-ready:
	case <-cp.exited:
		t.Fatalf("events serve exited:\n%s", cp.stderr())
	case <-time.After(time.Minute):
		t.Fatalf("events serve did not start:\n%s", cp.stderr())
	}
	return cp
}

func (cp *controlPlane) stderr() string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.log.String()
}

// The shipped control plane takes a real sidecar's denials into the home's
// store. Killed (SIGKILL) in the middle of a flood and started again, it
// loses nothing and stores nothing twice: every denial the agent was
// answered with is in the store exactly once.
func TestControlPlaneTakesASidecarsFloodAcrossAKill(t *testing.T) {
	const bottle, flood = "flood", 1200
	dir, home := t.TempDir(), t.TempDir()
	caDir, routes := filepath.Join(dir, "ca"), filepath.Join(dir, "routes.yaml")
	if out, err := exec.Command(botBottle(t), "ca", "init", caDir).CombinedOutput(); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	writeRoutes(t, routes, "allowed.test")
	sock := filepath.Join(dir, "control.sock")
	listen := []string{"--listen", events.UnixScheme + sock, "--bottle", bottle}
	cp := startControlPlane(t, home, append(listen, "--metrics", "127.0.0.1:0")...)
	s := startSidecar(t, []string{"PATH=" + os.Getenv("PATH")}, "--routes", routes, "--ca", caDir, "--bottle", bottle,
		"--events", events.UnixScheme+sock, "--spool", filepath.Join(dir, "spool"))

	// The flood: every request is denied; the agent's 403 names its denial.
	var (
		answered sync.Map // denial id -> true
		done     atomic.Int64
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	killAt, restartAt := int64(flood/3), int64(2*flood/3)
	killed, restarted := make(chan struct{}), make(chan struct{})
	var once1, once2 sync.Once
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > flood {
					return
				}
				resp, err := s.client.Get(fmt.Sprintf("http://denied.test/item/%d", i))
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				id := resp.Header.Get("X-Bot-Bottle-Denial")
				if resp.StatusCode != http.StatusForbidden || id == "" {
					t.Errorf("request %d: %d, denial %q", i, resp.StatusCode, id)
					return
				}
				answered.Store(id, true)
				switch n := done.Add(1); n {
				case killAt:
					once1.Do(func() { close(killed) })
				case restartAt:
					once2.Do(func() { close(restarted) })
				}
			}
		}()
	}
	<-killed
	if err := cp.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-cp.exited
	<-restarted
	cp = startControlPlane(t, home, listen...)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	store, err := sqlite.Open(filepath.Join(home, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errAll := errors.New("all stored")
	var lastSeq uint64
	err = store.Follow(ctx, events.AfterSeq(bottle, 0), func(p events.Page) error {
		if len(p.Gaps) > 0 {
			return fmt.Errorf("gaps in the bottle's events: %v", p.Gaps)
		}
		for _, ev := range p.Events {
			if ev.Seq != lastSeq+1 {
				return fmt.Errorf("seq %d after %d", ev.Seq, lastSeq)
			}
			lastSeq = ev.Seq
			if ev.Kind != schemas.KindDenial {
				continue
			}
			var d schemas.Denial
			if err := ev.Decode(&d); err != nil {
				return err
			}
			stored[d.ID]++
		}
		if len(stored) >= flood {
			return errAll
		}
		return nil
	})
	if !errors.Is(err, errAll) {
		t.Fatalf("%d of %d denials stored: %v\ncontrol plane:\n%s\nsidecar:\n%s", len(stored), flood, err, cp.stderr(), s.log())
	}
	missing := 0
	answered.Range(func(k, _ any) bool {
		if stored[k.(string)] != 1 {
			missing++
		}
		return true
	})
	for id, n := range stored {
		if n != 1 {
			t.Errorf("denial %s stored %d times", id, n)
		}
	}
	if missing > 0 || len(stored) != flood {
		t.Fatalf("%d answered denials not stored exactly once; %d stored, want %d", missing, len(stored), flood)
	}
	if !strings.Contains(s.log(), "delivery failed; retrying") {
		t.Fatalf("the sidecar never found the control plane away: the kill tested nothing\n%s", s.log())
	}

	// A clean stop: the batches in flight are stored, exit 0.
	if err := cp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cp.exited:
		if code := cp.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("events serve exit %d after SIGTERM:\n%s", code, cp.stderr())
		}
	case <-time.After(time.Minute):
		t.Fatal("events serve did not stop on SIGTERM")
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is left behind: %v", err)
	}
}

// The control plane accepts only its bottle's events, serves its metrics
// with the runtime collectors, and says what its flags lack.
func TestControlPlaneBindsItsBottle(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	cp := startControlPlane(t, home, "--listen", events.UnixScheme+sock, "--bottle", "mine", "--metrics", "127.0.0.1:0")
	mine, _ := schemas.NewEvent("mine", schemas.KindDenial, schemas.Denial{Host: "a.test", Reason: "host_not_allowed"})
	theirs, _ := schemas.NewEvent("theirs", schemas.KindDenial, schemas.Denial{Host: "a.test", Reason: "host_not_allowed"})
	decision, _ := schemas.NewEvent("mine", schemas.KindDecision, schemas.Decision{ProposalID: "p-x", Action: schemas.ActionApprove})
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	batch, _ := json.Marshal(events.Batch{Events: []schemas.Event{mine, theirs, decision}})
	resp, err := client.Post("http://control-plane"+events.EventsPath, "application/json", bytes.NewReader(batch))
	if err != nil {
		t.Fatal(err)
	}
	var res events.BatchResult
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST batch: %d %v", resp.StatusCode, err)
	}
	if res.Stored != 1 || len(res.Rejected) != 2 || res.Rejected[0].ID != theirs.ID || res.Rejected[1].ID != decision.ID {
		t.Fatalf("batch result %+v", res)
	}

	resp, err = http.Get(cp.metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\ngo_goroutines ", "\nprocess_open_fds ", "\nprocess_resident_memory_bytes ",
		"\nbot_bottle_events_stored_total 1\n", "\nbot_bottle_events_dropped_total{reason=\"rejected\"} 2\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}

	for args, want := range map[string]string{
		"":                                 "needs --bottle ID (one sidecar's bottle) or --any-bottle",
		"--bottle a --any-bottle":          "needs --bottle ID (one sidecar's bottle) or --any-bottle",
		"--bottle a --listen /tmp/x.sock":  `want unix:/path/to/control.sock`,
		"--bottle a --listen unix:" + sock: "another control plane is listening there",
	} {
		cmd := exec.Command(botBottle(t), append([]string{"events", "serve"}, strings.Fields(args)...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BOT_BOTTLE_HOME=" + home}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("events serve %s: %v\n%s", args, err, out)
		}
	}
}
