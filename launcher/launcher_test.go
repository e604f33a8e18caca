package launcher_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	launcher.RemoveGitWrappersForTest()
	if attackerPath != "" {
		_ = os.RemoveAll(filepath.Dir(attackerPath))
	}
	os.Exit(code)
}

// world is an in-process control plane, as the MCP server builds one: a
// real store, a bus, a launcher with the local backend.
type world struct {
	home, workdir string
	store         *sqlite.Store
	bus           *events.Bus
	l             *launcher.Launcher
}

func newWorld(t testing.TB, followers ...launcher.Follower) *world {
	t.Helper()
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	be := netns.New(bin)
	if err := be.Check(context.Background()); err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	base, err := os.MkdirTemp("", "bbl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	w := &world{home: filepath.Join(base, "bb"), workdir: filepath.Join(base, "work")}
	for _, d := range []string{filepath.Join(w.home, "bottles"), w.workdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(w.home, "bottles", "demo.yaml"), []byte("egress:\n  routes:\n    - host: allowed.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w.store, err = sqlite.Open(filepath.Join(w.home, sqlite.FileName), sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	w.bus = events.NewBus(w.store, events.BusOptions{})
	t.Cleanup(func() {
		w.bus.Close(context.Background())
		w.store.Close()
	})
	env := map[string]string{planner.HomeEnv: w.home, "PATH": os.Getenv("PATH"), "HOME": filepath.Join(base, "home")}
	p, err := planner.New(env, w.workdir)
	if err != nil {
		t.Fatal(err)
	}
	w.l, err = launcher.New(launcher.Config{Home: w.home, Planner: p, HostEnv: env, Backends: []launcher.Backend{be},
		Registry: w.store, Publisher: w.bus, StopGrace: 5 * time.Second, Followers: followers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.l.Close(context.Background()) })
	return w
}

// lockedBuffer is an io.Writer that can be read while the bottle writes,
// and waited on.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced at each write
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// waitFor blocks until the buffer holds want, woken by each write.
func (l *lockedBuffer) waitFor(t testing.TB, want string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), want) {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %q in %q", want, l.String())
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLauncherAPI(t *testing.T) {
	followed := make(chan string, 1)
	followerEnded := make(chan struct{})
	w := newWorld(t, func(ctx context.Context, b *launcher.Bottle) {
		followed <- b.ID()
		<-ctx.Done()
		close(followerEnded)
	})
	ctx := context.Background()
	surfaceHits := make(chan string, 4)
	surface := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, _ := launcher.BottleID(r.Context())
		surfaceHits <- id
		fmt.Fprintf(rw, "surface of %s", id)
	})
	var out lockedBuffer
	b, err := w.l.Launch(ctx, launcher.Options{
		Name: "demo", Workdir: w.workdir, AgentSurface: surface,
		Command: []string{"sh", "-c", `curl -sS --max-time 20 "$BOT_BOTTLE_MCP_URL"; echo; echo ready; exec sleep 300`},
		Stdio:   launcher.Stdio{Out: &out, Err: &out},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-surfaceHits:
		if id != b.ID() {
			t.Errorf("agent surface saw bottle %q, want %q", id, b.ID())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the agent surface was never reached; output %q", out.String())
	}
	if id := <-followed; id != b.ID() {
		t.Errorf("the follower got bottle %s, want %s", id, b.ID())
	}
	if got, ok := w.l.Get(b.ID()); !ok || got != b {
		t.Fatalf("Get(%s) = %v, %v", b.ID(), got, ok)
	}
	// The live proxy: what review reloads.
	rf := b.Proxy().Routes()
	if len(rf.Routes) != 1 || rf.Routes[0].Host != "allowed.test" {
		t.Fatalf("live routes %+v", rf.Routes)
	}
	rf.Routes = append(rf.Routes, schemas.RouteRule{Host: "second.test"})
	if err := b.Proxy().Reload(rf, "api"); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Proxy().Routes().Routes); n != 2 {
		t.Errorf("after reload: %d routes, want 2", n)
	}
	w.bus.Flush(ctx)
	list, err := w.l.List(ctx, false)
	if err != nil || len(list) != 1 || list[0].ID != b.ID() || list[0].State != schemas.StateRunning || list[0].Owner.PID != os.Getpid() {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if ok, err := launcher.Running(ctx, w.store, b.ID()); err != nil || !ok {
		t.Errorf("Running while it runs = %v, %v", ok, err)
	}
	out.waitFor(t, "ready") // the tee writes the log before the caller's writer
	logs, err := w.l.Logs(ctx, b.ID(), launcher.LogOptions{Tail: -1})
	if err != nil || !strings.Contains(string(logs), "surface of "+b.ID()) {
		t.Errorf("Logs = %q, %v", logs, err)
	}
	// A follower started now prints everything, then returns when the
	// bottle ends.
	var followedOut bytes.Buffer
	followDone := make(chan error, 1)
	go func() { followDone <- w.l.Follow(ctx, b.ID(), launcher.LogOptions{Tail: -1}, &followedOut) }()
	if err := w.l.Stop(ctx, b.ID(), "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Done():
	default:
		t.Fatal("Stop returned before the bottle ended")
	}
	select {
	case <-followerEnded:
	default:
		t.Error("the bottle ended before its follower returned")
	}
	if code, err := b.Wait(ctx); err != nil || code != 128+15 {
		t.Errorf("Wait = %d, %v; want 143 (SIGTERM)", code, err)
	}
	if _, ok := w.l.Get(b.ID()); ok {
		t.Errorf("an ended bottle is still owned")
	}
	if ok, err := launcher.Running(ctx, w.store, b.ID()); err != nil || ok {
		t.Errorf("Running after the end = %v, %v", ok, err)
	}
	if _, err := os.Stat(b.Info().RunDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run folder left: %v", err)
	}
	// The output outlives the run folder: logs still answers.
	after, err := w.l.Logs(ctx, b.ID(), launcher.LogOptions{Tail: -1})
	if err != nil || !strings.HasPrefix(string(after), string(logs)) {
		t.Errorf("Logs after the end = %q, %v; want the output it had", after, err)
	}
	select {
	case err := <-followDone:
		if err != nil || followedOut.String() != string(after) {
			t.Errorf("Follow = %q, %v; want the whole output %q", followedOut.String(), err, after)
		}
	case <-time.After(20 * time.Second):
		t.Error("Follow did not return when the bottle ended")
	}
	if b, err := w.l.Logs(ctx, b.ID(), launcher.LogOptions{Tail: -1, MaxBytes: 5}); err != nil || len(b) != 5 {
		t.Errorf("Logs tail after the end = %q, %v", b, err)
	}
	if b, err := w.l.Logs(ctx, b.ID(), launcher.LogOptions{Tail: 1}); err != nil || strings.Count(string(b), "\n") > 1 || !strings.HasSuffix(string(after), string(b)) {
		t.Errorf("Logs --tail 1 after the end = %q, %v", b, err)
	}
	if err := w.l.Stop(ctx, b.ID(), "again"); !errors.Is(err, launcher.ErrNotRunning) {
		t.Errorf("Stop of an ended bottle: %v, want ErrNotRunning", err)
	}
	if err := w.l.Stop(ctx, "nope-aaaaaa", "x"); !errors.Is(err, launcher.ErrUnknownBottle) {
		t.Errorf("Stop of an unknown bottle: %v", err)
	}
	if err := w.l.Stop(ctx, "../etc", "x"); err == nil || !strings.Contains(err.Error(), "bottle id") {
		t.Errorf("Stop with a path for an id: %v", err)
	}
	// The lifecycle as the channel saw it.
	page, err := w.store.Read(ctx, events.Cursor{Bottle: b.ID()}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, ev := range page.Events {
		if ev.Kind == schemas.KindLifecycle {
			var lc schemas.Lifecycle
			ev.Decode(&lc)
			states = append(states, lc.State)
		}
	}
	if got := strings.Join(states, ","); got != "starting,running,stopping,exited" {
		t.Errorf("lifecycle %s, want starting,running,stopping,exited", got)
	}
}

func TestLaunchFailureLeavesNothing(t *testing.T) {
	w := newWorld(t)
	_, err := w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: w.workdir,
		Command: []string{"/no/such/binary"}})
	// The init reports a missing command as exit 127 after the start: the
	// bottle runs briefly and ends, it is not a launch error.
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	_, err = w.l.Launch(context.Background(), launcher.Options{Name: "demo", Workdir: "/nonexistent/dir", Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "workdir") {
		t.Fatalf("Launch with a missing workdir: %v", err)
	}
	for _, b := range w.l.Owned() {
		b.Wait(context.Background())
	}
	if entries, _ := os.ReadDir(launcher.RunRoot(w.home)); len(entries) != 0 {
		t.Errorf("run folders left: %d", len(entries))
	}
}
