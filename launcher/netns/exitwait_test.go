package netns

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// threads is how many OS threads this process has.
func threads(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// Waiting for many children costs no thread each (a blocked waitid held
// one per bottle), and each wait still ends when its child does, with the
// child's status for exec.Cmd.Wait.
func TestWaitingCostsNoThread(t *testing.T) {
	const n = 100
	before := threads(t)
	var cmds []*exec.Cmd
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
		}
	})
	statuses := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitExited(c.Process.Pid)
			statuses <- c.Wait()
		}()
	}
	time.Sleep(500 * time.Millisecond) // every waiter is waiting by now
	if got := threads(t); got-before > n/4 {
		t.Errorf("%d children waited for take %d more threads", n, got-before)
	}
	select {
	case err := <-statuses:
		t.Fatalf("a wait ended before its child: %v", err)
	default:
	}
	for _, c := range cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("waits did not end after their children did")
	}
	close(statuses)
	for err := range statuses {
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Fatalf("a child's status after waitExited: %v", err)
		}
	}
}
