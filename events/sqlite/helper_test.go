package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// The tests re-execute their own binary as helper processes: other
// bot-bottle processes writing to, or locking, the same file.
const helperEnv = "EVENTS_SQLITE_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(role, os.Args[len(os.Args)-1]); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper is a child process of the test, killed at cleanup.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// startHelper runs role against path with extra environment; the child
// reads commands on stdin and answers on stdout.
func startHelper(t testing.TB, role, path string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", path)
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+role)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &helper{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(out)}
}

// expect reads the helper's next line and fails unless it starts with want.
func (h *helper) expect(t testing.TB, want string) string {
	t.Helper()
	line, err := h.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s: waiting for %q: %v", h.cmd.Env[len(h.cmd.Env)-1], want, err)
	}
	if !strings.HasPrefix(line, want) {
		t.Fatalf("helper said %q, want %q", line, want)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, want))
}

func runHelper(role, path string) error {
	switch role {
	case "lock":
		return helperLock(path)
	case "write":
		return helperWrite(path)
	case "launch":
		return helperLaunch(path)
	case "stuck-writer":
		return helperStuckWriter(path)
	case "busy-writer":
		return helperBusyWriter(path)
	case "follow":
		return helperFollow(path)
	case "append":
		return helperAppend(path)
	case "idle":
		return helperIdle(path)
	}
	return fmt.Errorf("unknown role %q", role)
}

// helperLock holds an exclusive lock on the database, as a process that
// set locking_mode=EXCLUSIVE and wrote would, until its stdin closes.
func helperLock(path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS lock_holder (x); INSERT INTO lock_holder VALUES (1)"); err != nil {
		return err
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return db.Close()
}

// readyThenGo says "ready" and waits for the test's "go" on stdin.
func readyThenGo() error {
	fmt.Println("ready")
	_, err := bufio.NewReader(os.Stdin).ReadString('\n')
	return err
}

// helperWrite appends $N events for $BOTTLES bottles in batches of one to
// five, then says "done". With $PACE it writes one event per pace, with the
// time of the write in its payload, for the latency measurement.
func helperWrite(path string) error {
	n, _ := strconv.Atoi(os.Getenv("N"))
	nb, _ := strconv.Atoi(os.Getenv("BOTTLES"))
	pace, _ := time.ParseDuration(os.Getenv("PACE"))
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := readyThenGo(); err != nil {
		return err
	}
	ctx := context.Background()
	pid := os.Getpid()
	for i := 0; i < n; {
		k := min(1+(i*7+pid)%5, n-i)
		if pace > 0 {
			k = 1
			time.Sleep(pace)
		}
		batch := make([]schemas.Event, k)
		for j := range batch {
			ev, err := schemas.NewEvent(fmt.Sprintf("p%d", (i+j+pid)%max(nb, 1)), schemas.KindDenial,
				map[string]int64{"written_ns": time.Now().UnixNano(), "pid": int64(pid)})
			if err != nil {
				return err
			}
			batch[j] = ev
		}
		if _, err := s.Append(ctx, batch); err != nil {
			return err
		}
		i += k
	}
	fmt.Println("done")
	return nil
}

// helperLaunch writes what one `bot-bottle launch -- true` writes, as it
// writes it: it opens the store, appends a bottle's three lifecycle events
// one transaction each, and closes. It says "ok", or the first error.
func helperLaunch(path string) error {
	// A launch works between its writes (namespaces, a CA, a proxy):
	// a quarter of a CPU second in all on this machine; the burns here are half that. The burns keep this process
	// as busy, so that on a small machine a writer holding the lock
	// competes for the CPU as a launch's would.
	burn(60 * time.Millisecond)
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		fmt.Println("error:", err)
		return nil
	}
	defer s.Close()
	bottle := fmt.Sprintf("launch-%d", os.Getpid())
	for _, state := range []string{schemas.StateStarting, schemas.StateRunning, schemas.StateExited} {
		ev, err := schemas.NewEvent(bottle, schemas.KindLifecycle, schemas.Lifecycle{State: state, Name: "launch"})
		if err != nil {
			return err
		}
		if _, err := s.Append(context.Background(), []schemas.Event{ev}); err != nil {
			fmt.Println("error:", err)
			return nil
		}
		burn(20 * time.Millisecond)
	}
	fmt.Println("ok")
	return nil
}

// burn spends about d of this thread's CPU time.
func burn(d time.Duration) {
	var ts unix.Timespec
	now := func() time.Duration {
		_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
		return time.Duration(ts.Nano())
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for end := now() + d; now() < end; {
	}
}

// helperStuckWriter holds the writers' queue, as a writer stopped (SIGSTOP,
// a debugger) in the middle of a transaction would, until its stdin closes.
func helperStuckWriter(path string) error {
	f, err := os.OpenFile(path+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// helperBusyWriter takes the writers' queue 10 times for 100ms each, as a
// writer slowed by a loaded machine would (counting itself in, as every
// writer does), and says "done".
func helperBusyWriter(path string) error {
	f, err := os.OpenFile(path+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Println("ready")
	for range 10 {
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			return err
		}
		var n [8]byte
		_, _ = f.ReadAt(n[:], 0)
		binary.LittleEndian.PutUint64(n[:], binary.LittleEndian.Uint64(n[:])+1)
		if _, err := f.WriteAt(n[:], 0); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("done")
	return nil
}
